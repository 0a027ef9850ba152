"""A Flask app as an edge function (see README.md in this folder).

    pycomponent build examples/edge/flask_app.py -r examples/edge/requirements.txt \
        --drop-native-code -o flask.wasm
    pycomponent serve flask.wasm

`--drop-native-code`: Flask needs MarkupSafe, which ships only native wheels; without its C
extension it uses its pure-Python implementation.
"""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from Flask in a WebAssembly component!\n"


@app.get("/api/square/<int:n>")
def square(n):
    return jsonify(n=n, square=n * n)


@app.post("/api/echo")
def echo():
    return jsonify(received=request.get_json(), content_type=request.content_type)


@app.get("/hello/<name>")
def hello(name):
    # Jinja2 escaping, through MarkupSafe's pure-Python fallback.
    from flask import render_template_string

    return render_template_string("<p>Hello, {{ name }}!</p>", name=name)


# Every request runs in a fresh instance, so to Flask every request is its first: the work Flask
# defers to a first request (the URL matcher, Jinja's environment) would be done every time. One
# request here, at import, does it once, into the snapshot.
app.test_client().get("/hello/snapshot")
