"""``python -m notalone`` runs the same CLI as the ``notalone`` console script."""

from notalone.cli import main

if __name__ == "__main__":
    main()
