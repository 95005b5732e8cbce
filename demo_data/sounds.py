"""Class-typical synthetic sounds for the embedded demo dataset (NumPy only, seeded).

Each synthesizer takes a seeded ``numpy.random.Generator``, a length in samples and a sample rate
and returns float64 samples; ``SYNTHS`` names them for the demo's scenario table. They are crude
on purpose but distinct in the ways the features see: voices are harmonic buzz with vowel
formants and syllable envelopes; household noises are clicks, impulses and broadband bursts;
animals are frequency sweeps, chirps and barks; music is harmonic notes and chords; ambience is
low-passed noise and rumble; alarms are beeping square tones and sirens; movement is periodic
footstep thumps; ``mixture`` overlays two of the others. Every frequency is kept below the
Nyquist limit of the requested rate, so the same sound works at 8 kHz and at 48 kHz.
"""

from collections.abc import Callable

import numpy as np

Synth = Callable[[np.random.Generator, int, int], np.ndarray]
_VOWEL_FORMANTS = (
    (730, 1090, 2440),
    (270, 2290, 3010),
    (530, 1840, 2480),
    (570, 840, 2410),
    (300, 870, 2240),
    (660, 1720, 2410),
)
_SCALE = np.array([0, 2, 4, 5, 7, 9, 11, 12])  # major scale, semitones


def _nyquist_cap(rate: int, hz: float | np.ndarray) -> float | np.ndarray:
    return np.minimum(hz, 0.45 * rate)


def _shape(x: np.ndarray, rate: int, gain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Filters ``x`` by multiplying its spectrum with ``gain(frequencies_hz)``."""
    spectrum = np.fft.rfft(x)
    spectrum *= gain(np.fft.rfftfreq(x.size, 1.0 / rate))
    return np.fft.irfft(spectrum, x.size)


def _band(x: np.ndarray, rate: int, low: float, high: float) -> np.ndarray:
    low, high = float(_nyquist_cap(rate, low)), float(_nyquist_cap(rate, high))
    return _shape(
        x,
        rate,
        lambda f: (
            1.0 / (1 + (low / np.maximum(f, 1.0)) ** 4) / (1 + (f / max(high, low + 1.0)) ** 4)
        ),
    )


def _decay(n: int, rate: int, seconds: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (seconds * rate))


def _add(out: np.ndarray, event: np.ndarray, start: int) -> None:
    end = min(out.size, start + event.size)
    if 0 <= start < end:
        out[start:end] += event[: end - start]


def _onsets(rng: np.random.Generator, n: int, rate: int, per_second: float) -> np.ndarray:
    gaps = rng.exponential(rate / per_second, size=int(n / rate * per_second * 2) + 2)
    starts = np.cumsum(gaps).astype(int)
    return starts[starts < n]


def _saw(phase: np.ndarray) -> np.ndarray:
    return 2.0 * (phase % 1.0) - 1.0


def _formant_gain(formants: tuple, rate: int) -> Callable[[np.ndarray], np.ndarray]:
    def gain(f: np.ndarray) -> np.ndarray:
        return sum(
            np.exp(-0.5 * ((f - _nyquist_cap(rate, fc)) / (60 + 0.06 * fc)) ** 2) / (1 + i)
            for i, fc in enumerate(formants)
        )

    return gain


def voice(
    rng: np.random.Generator,
    n: int,
    rate: int,
    f0: tuple = (90, 260),
    syllable_s: tuple = (0.12, 0.35),
) -> np.ndarray:
    """Speech-like syllables: buzz at a wandering pitch, vowel formants, gaps between."""
    out, position, base = np.zeros(n), int(rng.uniform(0, 0.2) * rate), rng.uniform(*f0)
    while position < n:
        length = int(rng.uniform(*syllable_s) * rate)
        t = np.arange(length) / rate
        contour = base * (
            1 + 0.12 * np.sin(2 * np.pi * rng.uniform(1, 4) * t + rng.uniform(0, 2 * np.pi))
        )
        buzz = _saw(np.cumsum(contour) / rate) + 0.05 * rng.standard_normal(length)
        formants = _VOWEL_FORMANTS[rng.integers(len(_VOWEL_FORMANTS))]
        _add(out, _shape(buzz, rate, _formant_gain(formants, rate)) * np.hanning(length), position)
        position += length + int(rng.uniform(0.03, 0.25) * rate)
    return out


def crying(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Baby-like cries: long, high, strongly inflected syllables."""
    return voice(rng, n, rate, f0=(320, 480), syllable_s=(0.4, 1.0))


def laughter(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Laugh-like bursts of short breathy syllables."""
    return voice(rng, n, rate, f0=(150, 320), syllable_s=(0.06, 0.12)) + 0.02 * _band(
        rng.standard_normal(n), rate, 800, 4000
    )


def clicks(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Keyboard/coin-like clicks: short high-passed noise bursts at random times."""
    out = np.zeros(n)
    length = max(8, int(0.006 * rate))
    for start in _onsets(rng, n, rate, rng.uniform(4, 14)):
        burst = rng.standard_normal(length) * _decay(length, rate, rng.uniform(0.001, 0.003))
        _add(out, burst * rng.uniform(0.3, 1.0), start)
    return _band(out, rate, 1500, 12000)


def thumps(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Door/drawer-like impacts: a low thud, a click and a little rattle, a few times."""
    out = np.zeros(n)
    length = int(0.4 * rate)
    t = np.arange(length) / rate
    for start in _onsets(rng, n, rate, rng.uniform(0.5, 2.0)):
        thud = np.sin(2 * np.pi * rng.uniform(55, 140) * t) * _decay(length, rate, 0.06)
        crack = rng.standard_normal(length) * _decay(length, rate, 0.01) * 0.5
        _add(out, thud + crack, start)
    return _band(out, rate, 30, 6000)


def drums(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """A drum loop: kick sweeps, snare noise bursts and hi-hat ticks on a steady beat."""
    out, beat = np.zeros(n), int(60 / rng.uniform(80, 140) * rate / 2)
    length = int(0.25 * rate)
    kick = np.sin(2 * np.pi * np.cumsum(50 + 100 * _decay(length, rate, 0.03)) / rate)
    kick *= _decay(length, rate, 0.08)
    snare = _band(rng.standard_normal(length), rate, 1000, 6000) * _decay(length, rate, 0.05)
    hat = _band(rng.standard_normal(length), rate, 6000, 16000) * _decay(length, rate, 0.01)
    for step, start in enumerate(range(0, n, beat)):
        _add(out, 0.4 * hat, start)
        if step % 2 == 0:
            _add(out, kick if step % 4 == 0 else snare, start)
    return out


def crinkle(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Paper/plastic crinkle: dense crackle of band-limited bursts with random loudness."""
    crackle = rng.standard_normal(n) * (rng.random(n) < rng.uniform(0.002, 0.01))
    crackle = np.convolve(crackle, _decay(int(0.004 * rate) + 1, rate, 0.001), "same")
    return _band(crackle, rate, 1000, 10000)


def bark(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Dog-like barks: short, falling, rough harmonic bursts."""
    out = np.zeros(n)
    for start in _onsets(rng, n, rate, rng.uniform(1.0, 3.0)):
        length = int(rng.uniform(0.1, 0.25) * rate)
        t = np.arange(length) / rate
        pitch = rng.uniform(350, 700) * (1 - 0.5 * t / t[-1])
        burst = _saw(np.cumsum(pitch) / rate) + 0.4 * rng.standard_normal(length)
        shaped = _band(burst, rate, 300, 3500) * np.hanning(length)
        _add(out, shaped, start)
    return out


def chirps(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Bird-like trills: fast frequency sweeps between 2 and 7 kHz, in phrases."""
    out = np.zeros(n)
    top = float(_nyquist_cap(rate, 7000))
    for phrase in _onsets(rng, n, rate, rng.uniform(0.5, 1.5)):
        low = rng.uniform(0.35, 0.6) * top
        for k in range(int(rng.integers(3, 9))):
            length = int(rng.uniform(0.03, 0.12) * rate)
            sweep = np.linspace(low, rng.uniform(low, top), length)
            note = np.sin(2 * np.pi * np.cumsum(sweep) / rate) * np.hanning(length)
            _add(out, note, phrase + k * int(1.4 * length))
    return out


def crickets(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Cricket/insect song: a high tone gated by fast pulse trains."""
    t = np.arange(n) / rate
    carrier = np.sin(2 * np.pi * float(_nyquist_cap(rate, rng.uniform(3500, 5000))) * t)
    pulses = (np.sin(2 * np.pi * rng.uniform(20, 40) * t) > 0.3).astype(float)
    groups = (np.sin(2 * np.pi * rng.uniform(0.8, 2.5) * t) > -0.2).astype(float)
    return carrier * pulses * groups + 0.02 * rng.standard_normal(n)


def purr(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Cat-like purr: low-passed noise pulsed at about 25 Hz with a slow breathing swell."""
    t = np.arange(n) / rate
    pulsed = rng.standard_normal(n) * (1 + np.sin(2 * np.pi * rng.uniform(22, 30) * t)) ** 2
    return _band(pulsed, rate, 40, 900) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.4 * t))


def _tone(
    rng: np.random.Generator,
    freq: float,
    length: int,
    rate: int,
    partials: int,
    inharmonic: bool = False,
) -> np.ndarray:
    t = np.arange(length) / rate
    out = np.zeros(length)
    for k in range(1, partials + 1):
        ratio = k * (1 + 0.02 * k * k) if inharmonic else k
        if freq * ratio < 0.45 * rate:
            out += np.sin(2 * np.pi * freq * ratio * t + rng.uniform(0, 2 * np.pi)) / k
    return out


def notes(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Instrument-like notes and chords from a major scale with plucked/struck envelopes."""
    out, position = np.zeros(n), 0
    root = 110 * 2 ** (rng.integers(0, 24) / 12)
    while position < n:
        length = min(n - position, int(rng.uniform(0.25, 1.2) * rate))
        degrees = rng.choice(_SCALE, size=int(rng.choice([1, 1, 3])), replace=False)
        chord = sum(_tone(rng, root * 2 ** (d / 12), length, rate, 8) for d in degrees)
        attack = np.minimum(1.0, np.arange(length) / (0.01 * rate))
        _add(out, chord * attack * _decay(length, rate, rng.uniform(0.2, 0.8)), position)
        position += length
    return out


def bells(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Bell-like strikes: inharmonic partials with long decays."""
    out = np.zeros(n)
    for start in [0, *_onsets(rng, n, rate, 0.7)]:
        length = min(n - start, int(2.5 * rate))
        strike = _tone(rng, rng.uniform(300, 900), length, rate, 6, inharmonic=True)
        _add(out, strike * _decay(length, rate, rng.uniform(0.4, 1.2)), start)
    return out


def rumble(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Traffic/machine ambience: brown noise low-passed, with slow swells and a mains hum."""
    t = np.arange(n) / rate
    brown = np.cumsum(rng.standard_normal(n))  # the band filter below removes its drift
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 2 * np.pi))
    hum = 0.1 * np.sin(2 * np.pi * rng.choice([50, 60, 100, 120]) * t)
    return _band(brown, rate, 20, rng.uniform(250, 900)) * swell + hum * brown.std() * 0.05


def rain(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Rain/water: steady band-limited noise with a sprinkle of droplets."""
    bed = _band(rng.standard_normal(n), rate, rng.uniform(300, 800), rng.uniform(3000, 9000))
    drops = rng.standard_normal(n) * (rng.random(n) < 0.001)
    return bed + 4 * _band(drops, rate, 2000, 8000)


def wind(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Wind: low-passed noise whose loudness drifts slowly."""
    t = np.arange(n) / rate
    drift = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t) ** 2
    return _band(rng.standard_normal(n), rate, 40, rng.uniform(400, 1200)) * drift


def beeps(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Alarm beeps: a square tone switched on and off in a regular pattern."""
    t = np.arange(n) / rate
    freq = float(_nyquist_cap(rate, rng.uniform(900, 3200)))
    square = np.sign(np.sin(2 * np.pi * freq * t))
    gate = (t % rng.uniform(0.3, 0.9)) < rng.uniform(0.08, 0.25)
    return _band(square * gate, rate, 200, 0.45 * rate)


def siren(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Siren: a tone whose pitch sweeps up and down between two frequencies."""
    t = np.arange(n) / rate
    low, high = rng.uniform(500, 800), rng.uniform(1100, 1600)
    sweep = low + (high - low) * (0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.2, 3.0) * t))
    phase = np.cumsum(_nyquist_cap(rate, sweep)) / rate
    return np.sin(2 * np.pi * phase) + 0.3 * np.sin(6 * np.pi * phase)


def blasts(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Fireworks/explosions: loud broadband bursts with long low-passed tails."""
    out = np.zeros(n)
    for start in [0, *_onsets(rng, n, rate, 0.8)]:
        length = min(n - start, int(1.5 * rate))
        _add(out, rng.standard_normal(length) * _decay(length, rate, rng.uniform(0.1, 0.4)), start)
    return _band(out, rate, 30, 3000)


def footsteps(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Footsteps: periodic low thumps with a gritty crunch, at a walking pace with jitter."""
    out = np.zeros(n)
    period = rate / rng.uniform(1.5, 2.6)
    length = int(0.12 * rate)
    t = np.arange(length) / rate
    position = rng.uniform(0, period)
    while position < n:
        thump = np.sin(2 * np.pi * rng.uniform(60, 110) * t) * _decay(length, rate, 0.02)
        crunch = _band(rng.standard_normal(length), rate, 1500, 6000) * _decay(length, rate, 0.03)
        _add(out, thump + rng.uniform(0.1, 0.5) * crunch, int(position))
        position += period * rng.uniform(0.92, 1.08)
    return out


def hooves(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Hooves: pairs of resonant wooden clops in a trotting rhythm."""
    out = np.zeros(n)
    length = int(0.05 * rate)
    t = np.arange(length) / rate
    clop = np.sin(2 * np.pi * float(_nyquist_cap(rate, rng.uniform(700, 1400))) * t)
    clop *= _decay(length, rate, 0.008)
    period = int(rate / rng.uniform(1.5, 2.5))
    for start in range(int(rng.uniform(0, period)), n, period):
        _add(out, clop, start)
        _add(out, 0.7 * clop, start + int(0.12 * rate))
    return out


def hiss(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Steady high hiss (stove pipe, tape, room tone) with a faint rustle."""
    return _band(rng.standard_normal(n), rate, 2000, 12000) + 0.3 * crinkle(rng, n, rate)


def mixture(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Two unrelated synthesizers overlaid at random levels (the catch-all ``other``)."""
    first, second = rng.choice(sorted(set(SYNTHS) - {"mixture"}), size=2, replace=False)
    a, b = SYNTHS[first](rng, n, rate), SYNTHS[second](rng, n, rate)
    return a / (np.abs(a).max() + 1e-9) + rng.uniform(0.2, 1.0) * b / (np.abs(b).max() + 1e-9)


SYNTHS: dict[str, Synth] = {
    "voice": voice,
    "crying": crying,
    "laughter": laughter,
    "clicks": clicks,
    "thumps": thumps,
    "drums": drums,
    "crinkle": crinkle,
    "bark": bark,
    "chirps": chirps,
    "crickets": crickets,
    "purr": purr,
    "notes": notes,
    "bells": bells,
    "rumble": rumble,
    "rain": rain,
    "wind": wind,
    "beeps": beeps,
    "siren": siren,
    "blasts": blasts,
    "footsteps": footsteps,
    "hooves": hooves,
    "hiss": hiss,
    "mixture": mixture,
}


def render(name: str, rng: np.random.Generator, seconds: float, rate: int) -> np.ndarray:
    """Synthesizes ``seconds`` of sound ``name`` at ``rate``, peak-normalised to a random level.

    Args:
        name: A key of ``SYNTHS``.
        rng: Seeded generator (the only source of randomness).
        seconds: Duration.
        rate: Sample rate in Hz.

    Returns:
        Float64 samples with a peak between 0.1 and 0.9 and no exact digital silence.
    """
    n = max(1, int(round(seconds * rate)))
    samples = SYNTHS[name](rng, n, rate)
    # Short clips can fall between two events; a faint floor keeps them from being all-zero.
    samples = samples + 1e-4 * rng.standard_normal(n) * (np.abs(samples).max() + 1e-3)
    return samples * (rng.uniform(0.1, 0.9) / np.abs(samples).max())
