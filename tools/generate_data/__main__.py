"""``python -m tools.generate_data [generate|next-batch] ...``."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
