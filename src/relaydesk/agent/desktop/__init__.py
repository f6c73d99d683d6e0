"""The support client's face on the customer's desktop: a window (Tk) or, without a display, the
terminal. `state.py` is the pure model both show; `link.py` carries what they do to the server."""
