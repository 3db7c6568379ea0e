FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN pip install --no-cache-dir . \
 && DEBUG=0 SECRET_KEY=build-only python manage.py collectstatic --noinput
RUN useradd --create-home threshold && chown -R threshold /app
USER threshold
EXPOSE 8000
CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000"]
