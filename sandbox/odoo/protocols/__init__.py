"""The wire formats: XML-RPC (``xmlrpc.py``), JSON-RPC and the web client's JSON routes
(``jsonrpc.py``), JSON-2 (``json2.py``) with 19's ``/doc-bearer`` (``apidoc.py``), and what they
share (``http.py``)."""
