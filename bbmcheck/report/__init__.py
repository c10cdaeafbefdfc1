"""Views of a :class:`bbmcheck.results.Result` and of its trace documents: text for people, JSON
for programs, the trace views (ITF text, text, Mermaid, DOT, HTML, SARIF) and writing them to files."""
