"""What the server and the agent say to each other: typed, versioned messages and the sans-I/O
state machines of the control channel. No sockets here."""
