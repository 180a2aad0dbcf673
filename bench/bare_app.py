"""The baseline of the status target: a bare Flask JSON endpoint (gunicorn: bench.bare_app:app)."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/api/v1/status")
def status():
    return jsonify(device_name="bare", software_version="0", uptime_seconds=1.0, boot_id="x")
