"""The command line: `main.py` declares the commands; `*_cmd.py` glue them to the library."""
