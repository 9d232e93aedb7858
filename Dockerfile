# syntax=docker/dockerfile:1
# The serving image: NumPy, msgspec, Starlette and uvicorn, the runtime/ package and the
# default bundle. No training code, no scikit-learn, pandas or SciPy.
#
#   docker build -t customer-segmentation:1.0.0 .
#   docker run --rm -p 8000:8000 customer-segmentation:1.0.0

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The venv gets no pip of its own: the image's pip installs into it, and stays behind.
RUN python -m venv --without-pip /opt/venv
COPY requirements-runtime.txt requirements-docs.txt /tmp/
RUN pip --python /opt/venv/bin/python install -r /tmp/requirements-runtime.txt \
 && pip --python /opt/venv/bin/python install --no-deps -r /tmp/requirements-docs.txt

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 segmentation \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin segmentation
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY runtime/ /app/runtime/
COPY artifacts/customer-segmentation/1.0.0/manifest.json artifacts/customer-segmentation/1.0.0/arrays.npz /app/artifacts/customer-segmentation/1.0.0/
# Files stay root-owned: the service only reads them.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2)"]
CMD ["python", "-m", "runtime", "--host", "0.0.0.0", "--port", "8000"]
