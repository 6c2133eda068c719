"""`python -m dao_lint` runs the command line."""
import sys

if __name__ == "__main__":
    try:
        from .frontends.cli import main

        main()
    except KeyboardInterrupt:  # (also while importing, before the command can handle it)
        sys.stderr.write("dao-lint: interrupted\n")
        sys.exit(130)
