"""The CLI shows names and messages from the server as text: no markup, no control characters."""

from __future__ import annotations

from rich.console import Console

from sequoia_client.cli import plain


def test_markup_and_control_characters_reach_the_terminal_as_plain_text():
    console = Console(record=True, force_terminal=True, width=200)

    console.print(plain("[red]x[/red] \x1b[2J\x07evil\x00.jpg"))

    text = console.export_text()
    assert "[red]x[/red]" in text and "\x1b[2J" not in text and "\x07" not in text and "evil.jpg" in text
