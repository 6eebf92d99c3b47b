FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --create-home helpdesk && mkdir -p /data/media /data/raw-mail && chown helpdesk /data/media /data/raw-mail
USER helpdesk
EXPOSE 8000
