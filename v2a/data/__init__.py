"""Training data for v2a: a labelled real sound library and rendered videos in sync with it.

There is no paired real video+audio corpus on the development machines, so the data side is
a recipe (see ../shared/DESIGN.md): real labelled recordings from Debian packages teach the
model what things sound like, procedurally rendered videos whose visible events land exactly
on the recordings' onsets teach it when sounds happen.

One module per concern:

- :mod:`v2a.data.sources`: where recordings come from (Debian packages, folders) and how
  their paths and metadata become categories, captions and split groups;
- :mod:`v2a.data.formats`: small readers/writers for OpenTTD's ``.cat`` sound files, Clonk groups, Qt
  resource files and MIDI;
- :mod:`v2a.data.soundfont`: General MIDI instrument and effect clips rendered with fluidsynth;
- :mod:`v2a.data.captions`: the category vocabulary (categories in families) and caption phrasings;
- :mod:`v2a.data.processing`: decoding, silence trimming, splitting, loudness, near-duplicates;
- :mod:`v2a.data.splits`: train / validation / test split by recording group;
- :mod:`v2a.data.library`: the builder that ties them together and writes the manifest;
- :mod:`v2a.data.render`: rendered videos whose motion lands on the clip's onsets
  (``render_record``: the one way a library clip becomes a video);
- :mod:`v2a.data.real_folder`: folders of real videos with sound;
- :mod:`v2a.data.cache`: the feature-cache format (carryable shards) that ``v2a train features`` writes.

Command line: ``python -m v2a.data build-library --out DIR`` (and ``render`` for preview videos).
"""
