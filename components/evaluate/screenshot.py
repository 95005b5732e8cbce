"""Screenshot of the evaluation report in headless Chromium, so a person can check it reads well.

``screenshot`` renders ``report.html`` with the Debian ``chromium`` binary (or another Chromium
found on ``PATH``) and saves ``report.png`` next to it. The window height is estimated from the
report's images and tables and the blank bottom of the capture is cropped. Without a Chromium
binary, or for a ``gs://`` report, it logs and returns None: the screenshot is a convenience,
never a reason for the step to fail. Run it by hand as
``python -m components.evaluate.screenshot runs/demo/evaluation/report.html``.
"""

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile

from PIL import Image, ImageOps

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_browser() -> str | None:
    """Path of a Chromium binary on ``PATH``, or None."""
    return next(filter(None, map(shutil.which, BROWSERS)), None)


def page_height(html: str) -> int:
    """A generous estimate of the report's height in CSS pixels, from its images and rows."""
    heights = sum(
        int(height) for height in re.findall(r"data-height='(\d+)'", html)
    ) or 700 * html.count("<img")
    return 600 + heights + 24 * html.count("<tr")


def screenshot(
    html_path: str, png_path: str | None = None, width: int = 1280, timeout_s: float = 120
) -> str | None:
    """Saves a full-page PNG of an HTML file with headless Chromium.

    Args:
        html_path: A local HTML file.
        png_path: Output PNG; defaults to the HTML path with ``.png``.
        width: Window width in pixels.
        timeout_s: Give up after this many seconds.

    Returns:
        The PNG path, or None when no browser, a remote path or a browser failure prevented it.
    """
    browser = find_browser()
    if browser is None:
        logging.warning("screenshot: no Chromium on PATH (apt-get install chromium); skipped")
        return None
    if "://" in html_path:
        logging.warning("screenshot: %s is not a local file; skipped", html_path)
        return None
    png_path = png_path or os.path.splitext(html_path)[0] + ".png"
    with open(html_path, encoding="utf-8") as handle:
        height = page_height(handle.read())
    with tempfile.TemporaryDirectory() as profile:
        command = [
            browser,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={os.path.abspath(png_path)}",
            f"--window-size={width},{height}",
            f"file://{os.path.abspath(html_path)}",
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=timeout_s)
        except (subprocess.SubprocessError, OSError) as error:
            logging.warning("screenshot: %s failed: %s", browser, error)
            return None
    if not os.path.exists(png_path):
        logging.warning("screenshot: %s wrote no %s", browser, png_path)
        return None
    crop_blank_bottom(png_path)
    return png_path


def crop_blank_bottom(png_path: str, margin: int = 32) -> None:
    """Crops the white rows below the content of a screenshot (the window height is a guess)."""
    with Image.open(png_path) as image:
        box = ImageOps.invert(image.convert("L")).getbbox()
        if box is None:
            return
        cropped = image.crop((0, 0, image.width, min(image.height, box[3] + margin)))
    cropped.save(png_path)


if __name__ == "__main__":
    print(screenshot(sys.argv[1]) or "no screenshot (see the log)")
