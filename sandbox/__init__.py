"""A local stand-in for Telegram: a Bot API server and a web chat page.

It imports nothing of the bot: it is Telegram, as far as the bot can tell.
"""
