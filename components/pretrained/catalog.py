"""The pretrained files the project can use, each pinned by sha256, with where to get it.

A ``Backbone`` is one pretrained network's folder in the weights cache. Each of its assets
is one role (the weights, the class names, the licence) filled by the first of its sources
that can be had, in preference order: YAMNet's weights are the official float ``yamnet.h5`` when
it can be downloaded, else the int8 TFLite conversion from a local folder (no official URL
publishes that one). The sha256 of YAMNet's ``yamnet.h5`` is not published by its authors: the
pin below comes from one public project, which pins the class map at the same sha256 as here,
and has not been checked against a download from these machines (they have no network).
Every other pin was checked here against the files themselves. ``notice`` is the text written
beside a backbone's files, so its licence and provenance travel with the cache.
"""

from dataclasses import dataclass

EFFICIENTAT_COMMIT = "a425fdce92572e602a1d5634799bd9f1f2efa806"
_EFFICIENTAT_RAW = f"https://raw.githubusercontent.com/fschmid56/EfficientAT/{EFFICIENTAT_COMMIT}"
_YAMNET_RAW = "https://raw.githubusercontent.com/tensorflow/models/master/research/audioset/yamnet"


@dataclass(frozen=True)
class Source:
    """One file that can fill an asset: its name in the cache, its sha256, its official URL."""

    name: str
    sha256: str
    url: str | None = None


@dataclass(frozen=True)
class Asset:
    """One role of a backbone's files, filled by the first available of ``sources``."""

    role: str
    sources: tuple[Source, ...]

    def names(self) -> str:
        """The file names that can fill it, for messages (``a.h5 or a.tflite``)."""
        return " or ".join(source.name for source in self.sources)


@dataclass(frozen=True)
class Backbone:
    """A pretrained network's files: its cache folder, its assets and its licence notice."""

    name: str
    assets: tuple[Asset, ...]
    notice: str

    def asset(self, role: str) -> Asset:
        """The asset of ``role``; ``KeyError`` names the roles it has."""
        for asset in self.assets:
            if asset.role == role:
                return asset
        raise KeyError(f"{self.name} has no {role!r} file (it has {[a.role for a in self.assets]})")


YAMNET = Backbone(
    name="yamnet",
    assets=(
        Asset(
            "weights",
            (
                Source(
                    "yamnet.h5",
                    "13c3308955bbfaef262f175ac9c40e47b134573a93984f009220dd7cc12a1744",
                    "https://storage.googleapis.com/audioset/yamnet.h5",
                ),
                Source(
                    "yamnet.tflite",
                    "2d5e1e0577beb1fd3b6ba4cf89a7b8813340added8dae72f64fe8cd18731dd4a",
                ),
            ),
        ),
        Asset(
            "class_map",
            (
                Source(
                    "yamnet_class_map.csv",
                    "cdf24d193e196d9e95912a2667051ae203e92a2ba09449218ccb40ef787c6df2",
                    f"{_YAMNET_RAW}/yamnet_class_map.csv",
                ),
            ),
        ),
    ),
    notice="""\
YAMNet, an AudioSet event classifier by its authors at Google (TensorFlow Model Garden,
https://github.com/tensorflow/models, research/audioset/yamnet; TF Hub google/yamnet).
Copyright 2019 The TensorFlow Authors. Licensed under the Apache License, Version 2.0
(http://www.apache.org/licenses/LICENSE-2.0); distributed on an "AS IS" BASIS, WITHOUT
WARRANTIES OR CONDITIONS OF ANY KIND.

Files: yamnet.h5 (the official float Keras weights, https://storage.googleapis.com/audioset/
yamnet.h5) or yamnet.tflite (a TFLite conversion of TF Hub yamnet/1 with int8 per-channel
weights, dequantised at load), and yamnet_class_map.csv (the 521 AudioSet class names).
Provisioned by `household-sounds weights`; each file's sha256 is in
components/pretrained/catalog.py and is checked before use.
""",
)

EFFICIENTAT = Backbone(
    name="efficientat",
    assets=(
        Asset(
            "weights",
            (
                Source(
                    "mn04_as_mAP_432.pt",
                    "899a8c6217063f6941793102a2780b3dd788ab11fce468d9cf5f0577c453321c",
                    "https://github.com/fschmid56/EfficientAT/releases/download/v0.0.1/"
                    "mn04_as_mAP_432.pt",
                ),
            ),
        ),
        Asset(
            "class_map",
            (
                Source(
                    "class_labels_indices.csv",
                    "cdd1049833c4b86127c2773ac0d14a2754b6a6d0d1798002ed5c66e699708429",
                    f"{_EFFICIENTAT_RAW}/metadata/class_labels_indices.csv",
                ),
            ),
        ),
        Asset(
            "licence",
            (
                Source(
                    "LICENSE",
                    "7a45b1641304427db80df436cab61c04ddb634d97e9a8b7a93de41db940fa8b5",
                    f"{_EFFICIENTAT_RAW}/LICENSE",
                ),
            ),
        ),
    ),
    notice=f"""\
EfficientAT mn04_as: an AudioSet-trained MobileNetV3 (width 0.4) by Florian Schmid, Khaled
Koutini and Gerhard Widmer ("Efficient Large-Scale Audio Tagging via Transformer-to-CNN
Knowledge Distillation", ICASSP 2023; https://github.com/fschmid56/EfficientAT). MIT licence:
see LICENSE in this folder (EfficientAT's, commit {EFFICIENTAT_COMMIT}).

Files: mn04_as_mAP_432.pt (the official checkpoint, release v0.0.1), class_labels_indices.csv
(the 527 AudioSet labels) and LICENSE. Provisioned by `household-sounds weights`; each file's
sha256 is in components/pretrained/catalog.py and is checked before use.
""",
)

BACKBONES: tuple[Backbone, ...] = (YAMNET, EFFICIENTAT)
