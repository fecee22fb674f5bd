"""The A1111 prompt language, pure Python: editing and alternation schedules, attention, chunks, AND, network tags.

Low in the layers so that `project/` (check) and `engines/` (encoding) read prompts the same way, and
`comicforge prompt` needs no torch.
"""
