"""``python -m twin`` runs the command line."""
from twin.cli import main

main()
