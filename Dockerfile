# Wuye property bot. Build: docker build -t wuye .
# Run:   docker run -d --name wuye -e WUYE_TOKEN=123456:ABC... -e WUYE_ADMINS=11111111 \
#               -v wuye-data:/data wuye
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WUYE_DB=/data/wuye.db \
    WUYE_DATA_DIR=/data/files

# A CJK font, so the weekly summary's chart is drawn in Chinese.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY procedures ./procedures
COPY storage ./storage
COPY templates ./templates
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin wuye \
 && mkdir -p /data \
 && chown wuye:wuye /data

USER wuye
VOLUME ["/data"]
# Only used in webhook mode (WUYE_WEBHOOK_URL set); polling needs no open port.
EXPOSE 8443
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
