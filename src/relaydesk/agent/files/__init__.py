"""The files tool (TOOL-4): confinement.py decides where it may act and opens the way there,
entries.py shows the disk, changes.py changes it, transfers.py moves files, tool.py serves the
protocol over a tunnel."""
