"""Visual understanding of scenes and the scene index with search.

Stages (``vision.stages``, one module per stage): image embeddings, ImageNet objects with
motion, on-screen text, captions (BLIP or the offline describer) and the scene index. Search
(``vision.search``) combines Postgres full-text search, typo tolerance and multilingual
semantic similarity.
"""
