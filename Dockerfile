# Wuye property bot. Build: docker build -t wuye .   Run: docker compose up -d (docker-compose.yml)
# or:    docker run -d --name wuye -e WUYE_TOKEN=123456:ABC... -e WUYE_ADMINS=11111111 \
#               -v wuye-data:/data wuye
# A bind-mounted data folder must belong to uid 10001 (chown 10001:10001 ./data).
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WUYE_DB=/data/wuye.db \
    WUYE_DATA_DIR=/data/files \
    WUYE_BACKUP_DIR=/backups \
    WUYE_METRICS_LISTEN=0.0.0.0 \
    WUYE_METRICS_PORT=9464

# A CJK font, so the weekly summary's chart is drawn in Chinese.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The dependencies in a layer of their own (pinned by constraints.txt), so a change to the
# code rebuilds only the small layer below.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt -c constraints.txt \
 && rm /tmp/requirements.txt

# Exactly the packages pyproject.toml lists (tests/test_packaging.py builds the wheel from
# these files alone).
COPY README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY procedures ./procedures
COPY storage ./storage
COPY templates ./templates
COPY sandbox ./sandbox
# The sources in /app are what `python -m bot` imports (the working directory comes first):
# their bytecode is compiled here, or every start would compile them again (PYTHONDONTWRITE-
# BYTECODE, and /app is not the bot's to write), a fifth of a second of its start-up.
RUN pip install --no-cache-dir --no-deps . \
 && python -m compileall -q bot handlers procedures storage sandbox \
 && groupadd --system --gid 10001 wuye \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin wuye \
 && mkdir -p /data /backups \
 && chown 10001:10001 /data /backups

USER 10001:10001
# /data: the database, its snapshots and the photos; /backups: `python -m bot backup` and the
# daily backup (mount another disk there).
VOLUME ["/data", "/backups"]
# 8443: only in webhook mode (WUYE_WEBHOOK_URL set); polling needs no open port.
# 9464: Prometheus' /metrics and /healthz (keep it off the internet).
EXPOSE 8443 9464
# The database opens, and polling (or the webhook server), the deadline sweeper and the
# outbox sender ran within the last minute.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python", "-m", "bot", "health"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
