# The ads-operator image: `ads-operator run` as a non-root user on a slim Python.
#
# Two stages. The build stage turns the source into a wheel and installs it, with its
# dependencies, into a virtualenv that has no pip; the runtime stage copies only that
# virtualenv, so no build backend, pip cache or source tree reaches the final image.
# Both stages must use the same base image: the virtualenv links to its interpreter.
# tests/e2e/test_dockerfile_install.py runs the build stage's steps (COPY and RUN below)
# in a fresh virtualenv, since no image can be built where the tests run.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG HATCHLING_VERSION=1.33.0
ARG VENV=/opt/ads-operator
ARG DIST=/tmp/dist
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m pip install --no-cache-dir "hatchling==${HATCHLING_VERSION}"
WORKDIR /src
COPY pyproject.toml README.md CHANGELOG.md ./
COPY operator/ operator/
COPY crds/ crds/
RUN python -m pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir "$DIST" .
RUN python -m venv --without-pip "$VENV" \
    && python -m pip --python "$VENV/bin/python" install --no-cache-dir --no-compile "$DIST"/*.whl

FROM ${PYTHON_IMAGE} AS runtime
ARG VENV=/opt/ads-operator
# NB: the base image's own pip, setuptools and wheel go too: nothing installs at run time.
RUN python -m pip uninstall --yes pip setuptools wheel \
    && groupadd --system --gid 10001 ads-operator \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin ads-operator
COPY --from=build ${VENV} ${VENV}
ENV PATH="${VENV}/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
LABEL org.opencontainers.image.title="ads-operator" \
      org.opencontainers.image.description="Runs OCI Data Science jobs declaratively from Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0"
# A numeric user, so runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# kopf's liveness endpoint (the chart passes --liveness) and the metrics port.
EXPOSE 8080 9090
ENTRYPOINT ["ads-operator", "run"]
CMD ["--all-namespaces", "--liveness=http://0.0.0.0:8080/healthz"]
