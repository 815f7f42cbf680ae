"""The report layer: summaries, text tables, plots, the demo's story and its HTML report.

Computing modules return plain data; everything that renders (text with rich,
figures with matplotlib, HTML) lives here and only reads results.
"""

from ._effects import plot_partial_dependence, render_anova, render_margins, render_term_tests
from ._html import figures, progress_bar, render_story_html, render_story_text, write_report
from ._identifiability import render_identifiability, render_symmetry_report
from ._landscape import campaign_plots, render_landscape, solutions_table
from ._path import plot_path, render_path, render_penalty_symmetry
from ._singular import (
    plot_hidden_selection,
    render_hidden_selection,
    render_information_criteria,
    render_learning_coefficient,
)
from ._summary import Summary, canonical_table, fit_summary, render_text
from .story import DEFAULT_INPUTS, Story, compute_story, save_story, story_from_store

__all__ = [
    "DEFAULT_INPUTS",
    "Story",
    "Summary",
    "campaign_plots",
    "canonical_table",
    "compute_story",
    "figures",
    "fit_summary",
    "plot_hidden_selection",
    "plot_partial_dependence",
    "plot_path",
    "progress_bar",
    "render_anova",
    "render_hidden_selection",
    "render_identifiability",
    "render_information_criteria",
    "render_landscape",
    "render_learning_coefficient",
    "render_margins",
    "render_path",
    "render_penalty_symmetry",
    "render_story_html",
    "render_story_text",
    "render_symmetry_report",
    "render_term_tests",
    "render_text",
    "save_story",
    "solutions_table",
    "story_from_store",
    "write_report",
]
