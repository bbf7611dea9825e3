# The crawler as a container: `docker run --rm -v "$PWD/data:/data" crawler /data/seeds.txt`.
# Build stage: wheels for the crawler and its dependencies. Runtime stage: slim Python, the
# wheels installed, no compilers or build tools, and a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY crawler ./crawler
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin crawler
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl \
    && rm -rf /wheels
COPY config /etc/crawler
WORKDIR /data
USER 10001:10001
ENTRYPOINT ["python", "-m", "crawler"]
CMD ["--help"]
