"""The contracts between steps: the files a run writes, their names and their readers/writers.

The ground floor beside ``components/audio``; it imports no step. ``names`` (file and split names)
and ``signature`` (the serving SavedModel's signature and tensor names) are plain constants
without TensorFlow, so the serving client imports them too; ``exportable`` (which models deploy
can export, read from ``model.json``) imports no TensorFlow either; ``files`` (atomic writes, JSON
and JSON lines), ``manifest``, ``model_files`` and ``shards`` read and write through
``tf.io.gfile``, so every path may be local or ``gs://``. The shapes are documented in
docs/contracts.md.
"""
