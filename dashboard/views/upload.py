"""Upload page: put logs from the browser into the runs folder, one new run folder per file."""

from pathlib import Path

import streamlit as st

from dashboard import data, state
from dashboard.files import MAX_UPLOAD_MB, UPLOAD_SUFFIXES, FolderError, save_upload
from dashboard.safe_text import streamlit_text

ctx = state.context()
if ctx is None:
    st.stop()

st.header("Upload logs")
st.caption(
    f"Each file becomes a new run folder in {streamlit_text(ctx.folder)} "
    f"(up to {MAX_UPLOAD_MB} MB per file). The file stays on this machine."
)
files = st.file_uploader(
    "Training logs", type=list(UPLOAD_SUFFIXES), accept_multiple_files=True, key="upload.files"
)
name = st.text_input("Run name (optional, when uploading one file)", key="upload.name")
if st.button("Add to the runs folder", disabled=not files, key="upload.save", icon=":material/upload:"):
    folder = Path(ctx.folder)
    folder.mkdir(parents=True, exist_ok=True)
    for file in files:
        try:
            path = save_upload(
                folder, file.name, file.getvalue(), run=name if len(files) == 1 and name else None
            )
        except (FolderError, OSError) as exc:
            st.error("A file could not be saved:")
            st.code(f"{file.name}: {exc}", language=None)  # user-supplied text: never rendered as Markdown
        else:
            st.success(
                f"Saved as {streamlit_text(path.relative_to(folder))}; "
                "it appears in the runs table on the next refresh."
            )
    data.clear()
