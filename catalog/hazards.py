"""GHS hazard communication: H-statement texts and pictogram labels for pages and the API.

The English texts are those of the UN GHS (Rev. 9); the Chinese ones come from the zh_Hans
message catalog (GB 30000 series wording). Codes we have no text for are shown bare.
"""

from django.utils.translation import gettext_lazy as _

from .models import GHS_PICTOGRAMS

H_STATEMENTS = {
    # --- Physical hazards -------------------------------------------------------------------
    "H200": _("Unstable explosive"),
    "H201": _("Explosive; mass explosion hazard"),
    "H202": _("Explosive; severe projection hazard"),
    "H203": _("Explosive; fire, blast or projection hazard"),
    "H204": _("Fire or projection hazard"),
    "H205": _("May mass explode in fire"),
    "H206": _("Fire, blast or projection hazard; increased risk of explosion if desensitizing "
              "agent is reduced"),
    "H207": _("Fire or projection hazard; increased risk of explosion if desensitizing agent "
              "is reduced"),
    "H208": _("Fire hazard; increased risk of explosion if desensitizing agent is reduced"),
    "H220": _("Extremely flammable gas"),
    "H221": _("Flammable gas"),
    "H222": _("Extremely flammable aerosol"),
    "H223": _("Flammable aerosol"),
    "H224": _("Extremely flammable liquid and vapour"),
    "H225": _("Highly flammable liquid and vapour"),
    "H226": _("Flammable liquid and vapour"),
    "H227": _("Combustible liquid"),
    "H228": _("Flammable solid"),
    "H229": _("Pressurized container: may burst if heated"),
    "H230": _("May react explosively even in the absence of air"),
    "H231": _("May react explosively even in the absence of air at elevated pressure and/or "
              "temperature"),
    "H232": _("May ignite spontaneously if exposed to air"),
    "H240": _("Heating may cause an explosion"),
    "H241": _("Heating may cause a fire or explosion"),
    "H242": _("Heating may cause a fire"),
    "H250": _("Catches fire spontaneously if exposed to air"),
    "H251": _("Self-heating; may catch fire"),
    "H252": _("Self-heating in large quantities; may catch fire"),
    "H260": _("In contact with water releases flammable gases which may ignite spontaneously"),
    "H261": _("In contact with water releases flammable gas"),
    "H270": _("May cause or intensify fire; oxidizer"),
    "H271": _("May cause fire or explosion; strong oxidizer"),
    "H272": _("May intensify fire; oxidizer"),
    "H280": _("Contains gas under pressure; may explode if heated"),
    "H281": _("Contains refrigerated gas; may cause cryogenic burns or injury"),
    "H282": _("Extremely flammable chemical under pressure: may explode if heated"),
    "H283": _("Flammable chemical under pressure: may explode if heated"),
    "H284": _("Chemical under pressure: may explode if heated"),
    "H290": _("May be corrosive to metals"),
    # --- Health hazards ---------------------------------------------------------------------
    "H300": _("Fatal if swallowed"),
    "H301": _("Toxic if swallowed"),
    "H302": _("Harmful if swallowed"),
    "H303": _("May be harmful if swallowed"),
    "H304": _("May be fatal if swallowed and enters airways"),
    "H305": _("May be harmful if swallowed and enters airways"),
    "H310": _("Fatal in contact with skin"),
    "H311": _("Toxic in contact with skin"),
    "H312": _("Harmful in contact with skin"),
    "H313": _("May be harmful in contact with skin"),
    "H314": _("Causes severe skin burns and eye damage"),
    "H315": _("Causes skin irritation"),
    "H316": _("Causes mild skin irritation"),
    "H317": _("May cause an allergic skin reaction"),
    "H318": _("Causes serious eye damage"),
    "H319": _("Causes serious eye irritation"),
    "H320": _("Causes eye irritation"),
    "H330": _("Fatal if inhaled"),
    "H331": _("Toxic if inhaled"),
    "H332": _("Harmful if inhaled"),
    "H333": _("May be harmful if inhaled"),
    "H334": _("May cause allergy or asthma symptoms or breathing difficulties if inhaled"),
    "H335": _("May cause respiratory irritation"),
    "H336": _("May cause drowsiness or dizziness"),
    "H340": _("May cause genetic defects"),
    "H341": _("Suspected of causing genetic defects"),
    "H350": _("May cause cancer"),
    "H350i": _("May cause cancer by inhalation"),
    "H351": _("Suspected of causing cancer"),
    "H360": _("May damage fertility or the unborn child"),
    "H360F": _("May damage fertility"),
    "H360D": _("May damage the unborn child"),
    "H360FD": _("May damage fertility. May damage the unborn child"),
    "H360Fd": _("May damage fertility. Suspected of damaging the unborn child"),
    "H360Df": _("May damage the unborn child. Suspected of damaging fertility"),
    "H361": _("Suspected of damaging fertility or the unborn child"),
    "H361f": _("Suspected of damaging fertility"),
    "H361d": _("Suspected of damaging the unborn child"),
    "H361fd": _("Suspected of damaging fertility. Suspected of damaging the unborn child"),
    "H362": _("May cause harm to breast-fed children"),
    "H370": _("Causes damage to organs"),
    "H371": _("May cause damage to organs"),
    "H372": _("Causes damage to organs through prolonged or repeated exposure"),
    "H373": _("May cause damage to organs through prolonged or repeated exposure"),
    # --- Environmental hazards --------------------------------------------------------------
    "H400": _("Very toxic to aquatic life"),
    "H401": _("Toxic to aquatic life"),
    "H402": _("Harmful to aquatic life"),
    "H410": _("Very toxic to aquatic life with long lasting effects"),
    "H411": _("Toxic to aquatic life with long lasting effects"),
    "H412": _("Harmful to aquatic life with long lasting effects"),
    "H413": _("May cause long lasting harmful effects to aquatic life"),
    "H420": _("Harms public health and the environment by destroying ozone in the upper "
              "atmosphere"),
}

PICTOGRAM_LABELS = dict(GHS_PICTOGRAMS)


def h_statements(codes) -> list[dict]:
    """[{"code": "H225", "text": "Highly flammable liquid and vapour"}, …] in the given order;
    the text is "" for a code we have none for."""
    return [{"code": code, "text": str(H_STATEMENTS.get(code, ""))} for code in codes or []]


def pictograms(codes) -> list[dict]:
    """[{"code": "GHS02", "label": "Flame", "template": "catalog/ghs/GHS02.svg"}, …];
    unknown codes are left out (the model validates them, old rows may not)."""
    return [
        {"code": code, "label": str(PICTOGRAM_LABELS[code]),
         "template": f"catalog/ghs/{code}.svg"}
        for code in codes or [] if code in PICTOGRAM_LABELS
    ]
