# partnerplan: one image for `db upgrade`, `worker`, `scheduler` and the one-off commands.
# Built from the locked requirements.txt (no sandbox, no dev tools), run as a non-root user.
# Not built on the machines that test partnerplan (no container engine there): its commands
# are the ones tests/e2e/test_distributed.py and tests/test_deploy.py run. See docs/production.md.

ARG PYTHON=3.11

FROM python:${PYTHON}-slim AS build
WORKDIR /src
RUN python -m venv /opt/partnerplan
COPY requirements.txt ./
RUN /opt/partnerplan/bin/pip install --no-cache-dir --no-deps --require-hashes -r requirements.txt
COPY pyproject.toml README.md LICENSE ./
COPY partnerplan ./partnerplan
COPY connectors ./connectors
COPY mappings ./mappings
COPY plans ./plans
COPY writeback ./writeback
COPY worker ./worker
COPY sandbox ./sandbox
RUN /opt/partnerplan/bin/pip install --no-cache-dir --no-deps . \
    && /opt/partnerplan/bin/partnerplan --version

FROM python:${PYTHON}-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/partnerplan --create-home partnerplan
COPY --from=build /opt/partnerplan /opt/partnerplan
COPY config /etc/partnerplan
ENV PATH=/opt/partnerplan/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PARTNERPLAN_CONFIG=/etc/partnerplan \
    PARTNERPLAN_LOG_LEVEL=info \
    PARTNERPLAN_METRICS_HOST=0.0.0.0 \
    DATABASE_URL=sqlite:////var/lib/partnerplan/partnerplan.db
USER partnerplan
WORKDIR /var/lib/partnerplan
EXPOSE 9191 9192
# /healthz of `worker` (9191) or `scheduler` (9192); one-off commands have none (override it)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PARTNERPLAN_METRICS_PORT', '9191') + '/healthz', timeout=4)"]
ENTRYPOINT ["partnerplan"]
CMD ["--help"]
