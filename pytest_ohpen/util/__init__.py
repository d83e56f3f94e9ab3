"""Small shared mechanisms: files, the subprocess runner, the git runner, text tables."""
