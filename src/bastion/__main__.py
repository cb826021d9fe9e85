"""``python -m bastion`` runs the CLI."""

from bastion.cli.main import main

if __name__ == "__main__":
    main()
