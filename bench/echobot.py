"""PTB's own ``examples/echobot.py`` (v22), unchanged but for the token and the base URL
(``ECHO_TOKEN``, ``ECHO_API_URL``: the sandbox's) and its log at WARNING (at INFO it logs every
request): the bare python-telegram-bot the benchmarks compare the bot with
(``bench/startup.py``).

    ECHO_TOKEN=… ECHO_API_URL=http://127.0.0.1:8081/bot python bench/echobot.py
"""

import logging
import os

from telegram import ForceReply, Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

logging.basicConfig(
    format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.WARNING
)
logging.getLogger("httpx").setLevel(logging.WARNING)
logger = logging.getLogger(__name__)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a message when the command /start is issued."""
    user = update.effective_user
    assert user is not None and update.message is not None
    await update.message.reply_html(
        rf"Hi {user.mention_html()}!",
        reply_markup=ForceReply(selective=True),
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a message when the command /help is issued."""
    assert update.message is not None
    await update.message.reply_text("Help!")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo the user message."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def main() -> None:
    """Start the bot."""
    application = (
        Application.builder().token(os.environ["ECHO_TOKEN"])
        .base_url(os.environ["ECHO_API_URL"]).build()
    )  # fmt: skip
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
