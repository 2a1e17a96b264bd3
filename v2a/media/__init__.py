"""Media in and out: ``decode`` (video file -> frames with timestamps), ``write`` (H.264 files
and encoder-sized audio frames), ``mux`` (the result: the input's video stream copied, the new
soundtrack encoded, written atomically). No model code here.
"""
