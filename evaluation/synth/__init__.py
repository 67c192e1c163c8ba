"""Synthetic 政府信息公开工作年度报告 with known gold labels, for testing the extractor on held-out variants.

Why: five real seeds cannot cover what real reports do (see shared/spec/real-world.md). Each report is
drawn from one ``random.Random(seed)``, in this order, each step a module:

- content.py: agency, template, values that satisfy the schema's identities, then realistic deviations
  (nulls, omitted blocks, a printed total that disagrees, the old （六） row), as a :class:`~content.Doc`;
  gold.py completes the gold record from the schema's identities;
- wording.py: the word lists and one agency's way of printing labels (reworded, misspelt, renumbered);
- tables.py and layout.py: the report as blocks (headings, paragraphs, page marks, tables); blocks.py is
  the table model, cells placed on a grid with row/column spans, shared by every form;
- render_*.py: one module per form (md, html, the txt styles, docx, pdf with pdf_fonts.py and
  pdf_geometry.py, scan, mdconv), converters.py for real conversion tools; forms.py routes a seed to them;
- corpus.py: a corpus on disk (documents, gold files, MANIFEST.json) and the loaders of labelled folders;
  scorecard.py: how far an extractor's records agree with that gold.

Content draws come before any form-specific draw, so one seed gives the same gold in every form.
"""
