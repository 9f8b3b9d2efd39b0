"""The boundary browser: where an H-Net cuts a genome or a sound (``hnet-bio browse`` runs this).

Flow of one run of the page: sidebar inputs -> checkpoint (cached) -> input (cached) -> page ->
analysis (cached per checkpoint, input, page) -> DNA or audio view -> optional comparison ->
export. Anything a user can get wrong is one error line in the page; the rest of the page and
the next input keep working.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # `streamlit run app/main.py` runs this file as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st

from app import audio_view, dna_view
from app.compare_export import EXPORTS, agreement_table, export_text, figure_png
from app.compute import WHOLE, Loaded, load_checkpoint, page_analysis, with_progress
from app.inputs import Choice, Source, load_source, sidebar, startup_defaults, window_input
from app.paging import Page, paging
from hnet_bio.errors import HNetBioError
from pipelines.analysis import Analysis


def analysis_of(ckpt: Loaded, source: Source, page: Page, length: int | None = None) -> Analysis:
    """The (cached) analysis of the page, with a progress bar while the model runs."""
    update, close = with_progress(f"running {ckpt.label}")
    try:
        return page_analysis(ckpt, source.item.data, source.key, page.start,
                             page.length if length is None else length, update)
    finally:
        close()


def view(source: Source, page: Page, ckpt: Loaded, a: Analysis, key: str, title: str = "",
         details: bool = True, whole: Analysis | None = None) -> None:
    target = ckpt.model.config.target_ratios()
    module = dna_view if source.kind == "dna" else audio_view
    module.render(source, page, a, target, key=key, title=title, details=details, whole=whole)


def whole_wanted() -> bool:
    """Export → whole input is switched on (its analysis also feeds the CDS metaplot)."""
    state = st.session_state
    return state.get("export_scope") == "whole input" and bool(state.get("export_whole"))


def compare_panel(choice: Choice, source: Source, page: Page, first: Loaded, a: Analysis) -> None:
    """The second checkpoint on the same page, below the first, with the boundary agreement."""
    st.subheader(f"Compared with {choice.compare}")
    try:
        second = load_checkpoint(choice.compare)
        if second.modality != source.kind:
            raise HNetBioError(f"{choice.compare}: a {second.modality} checkpoint cannot read this "
                               f"{source.kind} input")
        b = analysis_of(second, source, page)
    except HNetBioError as exc:
        st.error(f"comparison: {exc}")
        return
    agreement = agreement_table(a, b)
    if agreement:
        st.metric("boundary agreement (stage 0, F1 of boundary positions)", f"{agreement[0].f1:.3f}")
        st.dataframe([row.table_row() for row in agreement], hide_index=True)
    view(source, page, second, b, key="second", title=choice.compare, details=False)


def export_panel(source: Source, page: Page, ckpt: Loaded, a: Analysis) -> None:
    """Downloads: boundaries (BED/bedGraph or CSV) of the screen or the whole input; the figure as PNG."""
    st.subheader("Export")
    scope = st.radio("what", ("on screen", "whole input"), horizontal=True, key="export_scope")
    item = dna_view.page_item(source, page) if source.kind == "dna" else source.item
    analysis, offset = a, page.start
    if scope == "whole input":
        if not st.toggle(f"analyse the whole input ({source.length:,} bytes)", key="export_whole"):
            st.caption("The whole input is analysed once (cached) when this is switched on.")
            return
        analysis, item, offset = analysis_of(ckpt, source, Page(0, source.length), WHOLE), source.item, 0
    elif source.kind == "audio":
        item = type(item)(item.name, item.data[page.start : page.end], item.source,
                          sample_rate=item.sample_rate)
    cols = st.columns(len(EXPORTS[source.kind]) + 1)
    for col, fmt in zip(cols, EXPORTS[source.kind]):
        name, text = export_text(fmt, item, analysis)
        if source.kind == "audio" and offset:
            name = name.replace("_0.", f"_{offset}.")
        col.download_button(f"{fmt} ({scope})", text, file_name=name, key=f"dl-{fmt}")
    # The PNG takes matplotlib most of a second: drawn only when asked for, not on every rerun of
    # every session (it was 70% of a page turn).
    if scope == "on screen" and cols[-1].toggle("PNG of the figure", key="export_png"):
        png = figure_png(source.kind, item, analysis, source.features, offset, title=ckpt.label)
        cols[-1].download_button("figure (PNG)", png, file_name="boundaries.png", mime="image/png",
                                 key="dl-png")


def main() -> None:
    st.set_page_config(page_title="hnet-bio boundary browser", layout="wide")
    st.title("H-Net boundary browser")
    choice = sidebar(startup_defaults())
    try:
        ckpt = load_checkpoint(choice.checkpoint)
        source = load_source(choice, ckpt.meta)
    except HNetBioError as exc:
        st.error(str(exc))
        return
    page = paging(source, window_input(choice, source), choice.start_position)
    a = analysis_of(ckpt, source, page)
    whole = analysis_of(ckpt, source, Page(0, source.length), WHOLE) if whole_wanted() else None
    view(source, page, ckpt, a, key="main", title=choice.checkpoint, whole=whole)
    if choice.compare:
        compare_panel(choice, source, page, ckpt, a)
    export_panel(source, page, ckpt, a)


main()
