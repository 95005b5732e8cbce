"""The listening web app, served by ``household-sounds app``.

``server.py`` is a standard-library HTTP server that proxies to TF Serving; ``static/`` is the page
(browser microphone → 16-bit WAV windows → live timeline, and uploads), with no build step.
"""
