"""`comicforge review`: a local web app over the book's previews: candidates side by side, picks written into comic.yaml.

book.py (the book as the JSON API shows it, from a build's jobs), session.py (background rebuilds after each save or
pick, file watching, live events), app.py (the Starlette app: pages, API, images, and the Host/Origin guard), serve.py
(uvicorn on 127.0.0.1). Starlette, uvicorn, watchfiles and ruamel.yaml come with the `review` extra.
"""
