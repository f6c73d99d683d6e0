"""Screen sharing: an RFB 3.8 server (sans-I/O core, encoders, X11 capture and input, runner).

Layout:
  rfb.py       the protocol core (`RfbServer`): bytes in, events out; no I/O
  encodings/   Raw, CopyRect, Tight, ZRLE and the pseudo-encodings; pixel format conversion
  capture.py   X11 capture (MIT-SHM through mss), changed tiles, monitors, cursor (XFixes), XDamage
  input.py     XTest keyboard and pointer, keysym -> keycode, view-only switch
  session.py   `serve_rfb()`: joins the above over any byte stream
  listener.py  `relaydesk-agent --rfb-listen`: a local TCP listener with VNC authentication
"""
