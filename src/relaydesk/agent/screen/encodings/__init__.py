"""RFB encoders: BGRX numpy frames in, rectangle bytes (header + data) out."""

from relaydesk.agent.screen.encodings.basic import copyrect_rect, raw_rect
from relaydesk.agent.screen.encodings.h264 import H264Encoder
from relaydesk.agent.screen.encodings.pixels import convert, pixel_values, rgbx_to_bgrx
from relaydesk.agent.screen.encodings.pseudo import cursor_rect, qemu_key_ack_rect
from relaydesk.agent.screen.encodings.tight import TightEncoder, compact_length
from relaydesk.agent.screen.encodings.zrle import ZrleEncoder

__all__ = [
    "H264Encoder",
    "TightEncoder",
    "ZrleEncoder",
    "compact_length",
    "convert",
    "copyrect_rect",
    "cursor_rect",
    "pixel_values",
    "qemu_key_ack_rect",
    "raw_rect",
    "rgbx_to_bgrx",
]
