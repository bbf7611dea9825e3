# The crawler as a container: `docker run --rm -v "$PWD/data:/data" crawler /data/seeds.txt`.
# Build stage: wheels for the crawler and its dependencies. Runtime stage: slim Python, the
# wheels installed, no compilers or build tools, and a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements/crawl.lock ./requirements/
COPY crawler ./crawler
# every dependency from the lock (exact versions, hash-checked), then the crawler itself, built
# with the locked setuptools
RUN pip install --no-cache-dir --require-hashes -r requirements/crawl.lock \
    && pip wheel --no-cache-dir --require-hashes --wheel-dir /wheels -r requirements/crawl.lock \
    && pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

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
