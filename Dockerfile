# One image for the web process and the workers.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/data MEDIA_ROOT=/data/media \
    RESULTS_DIR=/data/results MODELS_DIR=/data/models
RUN apt-get update && apt-get install -y --no-install-recommends \
      ffmpeg espeak-ng tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
    && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt
COPY . .
RUN python -m analysis.samples && python -m analysis.kernels && DATABASE_URL=postgres://x@localhost/x python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000"]
