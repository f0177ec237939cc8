"""Write plait's negation development set, ``plait/data/negation_dev.jsonl``, from templates.

    .venv/bin/python recipes/negation_dev_set.py            # rewrite the packaged file
    .venv/bin/python recipes/negation_dev_set.py --check    # exit 1 if the file differs

Every item is a triple ``(query, positive, negative)`` where ``positive`` and ``negative`` are
the same text but for the polarity of one claim, written by hand here (not by plait's twin
generator, so the set does not reward a model for learning that generator's rules):

* ``side: "document"``: the query asks for the affirmed meaning ("patients with a history of
  heart disease"); ``positive`` affirms it ("... has a history of cardiac disease"), ``negative``
  negates it ("... has no history of cardiac disease");
* ``side: "query"``: the query carries the negation ("laptops without a touchscreen", "X but not
  Y", "excluding ..."); ``positive`` is the document that satisfies it (it holds the negation),
  ``negative`` the affirmed twin.

Templates are grouped by domain (medical, legal, technical/product, general); each has several
sentence frames and query phrasings, one of each drawn per entity with a fixed seed, and half the
documents get a neutral context sentence (no polarity words) before or after the claim, so
documents vary in length and the claim is not always first. Drugs and products are invented
names (the set asserts nothing about real medicines or products). The script checks that every
pair differs in one span that flips polarity (:func:`plait.training.negation.is_polarity_twin`),
that document-side queries hold no negation and query-side ones do, and that no text repeats.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "plait" / "data" / "negation_dev.jsonl"
SEED = 27

Frames = list[tuple[str, str]]

# --------------------------------------------------------------------------------------- medical
PATIENTS = [
    "The patient", "A 54-year-old man", "A 67-year-old woman", "Mr. Okafor", "Mrs. Lindqvist",
    "The 8-year-old boy", "Ms. Tanaka", "The 72-year-old retired farmer", "A 31-year-old nurse",
    "Mr. Delgado", "The referred patient", "A 45-year-old teacher",
]  # fmt: skip
MEDICAL_CONTEXT = [
    "Seen in the outpatient clinic on 12 March.",
    "Referred by the general practitioner for review.",
    "Admitted through the emergency department overnight.",
    "Follow-up visit after a routine blood test.",
    "Telephone consultation with the on-call doctor.",
    "Notes written by the admitting registrar.",
]
DRUG_CONTEXT = [
    "Information from the product leaflet.",
    "Summary from the hospital formulary.",
    "Listed in the pharmacy's reference guide.",
    "Answer from the medicines information line.",
]
DRUGS = [
    "Corvexa", "Lumitrel", "Dafinex", "Ostrazan", "Pelmorin", "Quinavet", "Ravolex", "Sentrapil",
    "Tavorin", "Zelmidra", "Brionex", "Maltuvan",
]  # fmt: skip

MEDICAL: list[dict[str, Any]] = [
    {
        "name": "history",
        "frames": [
            ("{p} has a history of {c}.", "{p} has no history of {c}."),
            ("{p} reports a history of {c}.", "{p} reports no history of {c}."),
            (
                "{p} has been diagnosed with {c} in the past.",
                "{p} has never been diagnosed with {c}.",
            ),
        ],
        "queries": [
            "patients with a history of {q}",
            "{q} in the medical history",
            "has the patient had {q} before",
            "previous diagnosis of {q}",
        ],
        "entities": [
            {"c": "cardiac disease", "q": "heart disease"},
            {"c": "type 2 diabetes", "q": "diabetes"},
            {"c": "epilepsy", "q": "seizures"},
            {"c": "chronic kidney disease", "q": "kidney disease"},
            {"c": "deep vein thrombosis", "q": "blood clots"},
            {"c": "atrial fibrillation", "q": "an irregular heartbeat"},
        ],
    },
    {
        "name": "allergy",
        "frames": [
            ("{p} is allergic to {d}.", "{p} is not allergic to {d}."),
            ("{p} has a documented allergy to {d}.", "{p} has no documented allergy to {d}."),
            (
                "An allergy to {d} is recorded in the chart.",
                "No allergy to {d} is recorded in the chart.",
            ),
        ],
        "queries": ["{d} allergy", "patient allergic to {d}", "documented allergy to {d}"],
        "entities": [
            {"d": d}
            for d in (
                "penicillin",
                "sulfa drugs",
                "codeine",
                "iodine contrast",
                "latex",
                "morphine",
            )
        ],
    },
    {
        "name": "test-result",
        "frames": [
            ("{t} came back positive for {x}.", "{t} came back negative for {x}."),
            ("{t} was positive for {x}.", "{t} was negative for {x}."),
        ],
        "queries": ["positive test for {x}", "tested positive for {x}", "{x} confirmed by a test"],
        "entities": [
            {"t": "The PCR swab", "x": "COVID-19"},
            {"t": "The rapid strep test", "x": "group A streptococcus"},
            {"t": "The blood culture", "x": "Staphylococcus aureus"},
            {"t": "The tuberculin skin test", "x": "tuberculosis"},
            {"t": "The antibody screen", "x": "hepatitis C"},
            {"t": "The nasal swab", "x": "influenza A"},
        ],
    },
    {
        "name": "symptom",
        "frames": [
            ("{p} reports {s}.", "{p} denies {s}."),
            ("{p} is experiencing {s}.", "{p} is not experiencing {s}."),
            ("{p} complains of {s}.", "{p} does not complain of {s}."),
        ],
        "queries": ["patient with {s}", "{s} reported by the patient", "complaints of {s}"],
        "entities": [
            {"s": s}
            for s in (
                "chest pain on exertion",
                "shortness of breath at night",
                "numbness in the left arm",
                "dizziness when standing",
                "night sweats",
                "double vision",
            )
        ],
    },
    {
        "name": "imaging",
        "frames": [
            ("The {m} shows {a}.", "The {m} shows {n}."),
            ("The {m} revealed {a}.", "The {m} revealed {n}."),
        ],
        "queries": ["{m} showing {a}", "{a} seen on the {m}", "{m} findings of {a}"],
        "entities": [
            {"m": "chest X-ray", "a": "signs of pneumonia", "n": "no signs of pneumonia"},
            {
                "m": "brain MRI",
                "a": "a tumour in the left frontal lobe",
                "n": "no tumour in the left frontal lobe",
            },
            {"m": "abdominal ultrasound", "a": "gallstones", "n": "no gallstones"},
            {
                "m": "wrist CT scan",
                "a": "a fracture of the scaphoid",
                "n": "no fracture of the scaphoid",
            },
            {"m": "mammogram", "a": "a suspicious mass", "n": "no suspicious mass"},
            {
                "m": "colonoscopy",
                "a": "polyps in the sigmoid colon",
                "n": "no polyps in the sigmoid colon",
            },
        ],
    },
    {
        "name": "drug-use",
        "context": DRUG_CONTEXT,
        "frames": [
            ("{d} is safe to use during pregnancy.", "{d} is not safe to use during pregnancy."),
            (
                "{d} is approved for children under twelve.",
                "{d} is not approved for children under twelve.",
            ),
            (
                "{d} can be taken together with alcohol.",
                "{d} cannot be taken together with alcohol.",
            ),
            (
                "{d} can be crushed and mixed with food.",
                "{d} cannot be crushed and mixed with food.",
            ),
        ],
        "queries": [
            "{d} use in pregnancy",
            "is {d} approved for children",
            "taking {d} with alcohol",
            "can {d} tablets be crushed",
        ],
        "pair_query": True,
        "entities": [{"d": d} for d in DRUGS[:8]],
    },
    {
        "name": "vaccination",
        "frames": [
            ("{p} has been vaccinated against {v}.", "{p} has not been vaccinated against {v}."),
            (
                "{p} received the {v} vaccine last year.",
                "{p} did not receive the {v} vaccine last year.",
            ),
        ],
        "queries": ["vaccinated against {v}", "{v} vaccine given", "{v} immunisation received"],
        "entities": [
            {"v": v}
            for v in ("measles", "tetanus", "hepatitis B", "shingles", "yellow fever", "rabies")
        ],
    },
    {
        "name": "response",
        "frames": [
            ("The tumour responded to {t}.", "The tumour did not respond to {t}."),
            (
                "The infection cleared after a week of {t}.",
                "The infection did not clear after a week of {t}.",
            ),
            ("Symptoms improved on {t}.", "Symptoms did not improve on {t}."),
        ],
        "queries": ["tumour responding to {t}", "infection cured by {t}", "improvement with {t}"],
        "pair_query": True,
        "entities": [
            {"t": t}
            for t in (
                "radiotherapy",
                "oral amoxicillin",
                "Brionex infusions",
                "intravenous Maltuvan",
                "immunotherapy",
                "physiotherapy",
            )
        ],
    },
    {
        "name": "habit",
        "frames": [
            ("{p} is a current smoker.", "{p} is not a current smoker."),
            ("{p} drinks alcohol.", "{p} does not drink alcohol."),
            ("{p} uses a walking frame at home.", "{p} does not use a walking frame at home."),
        ],
        "queries": [
            "current smokers",
            "patients who drink alcohol",
            "patient using a walking frame",
        ],
        "pair_query": True,
        "entities": [{} for _ in range(5)],
    },
    {
        "name": "interaction",
        "context": DRUG_CONTEXT,
        "frames": [
            ("{a} interacts with {b}.", "{a} does not interact with {b}."),
            ("{a} increases the effect of {b}.", "{a} does not increase the effect of {b}."),
        ],
        "queries": [
            "does {a} interact with {b}",
            "{a} and {b} interaction",
            "risk of combining {a} and {b}",
        ],
        "entities": [
            {"a": "Corvexa", "b": "warfarin"},
            {"a": "Sentrapil", "b": "grapefruit juice"},
            {"a": "Tavorin", "b": "oral contraceptives"},
            {"a": "Zelmidra", "b": "lithium"},
            {"a": "Quinavet", "b": "St John's wort"},
            {"a": "Ravolex", "b": "insulin"},
        ],
    },
    {
        "name": "need",
        "frames": [
            ("{p} needs {x}.", "{p} does not need {x}."),
            ("{p} requires {x}.", "{p} does not require {x}."),
        ],
        "queries": ["patient who needs {x}", "{x} required", "indication for {x}"],
        "entities": [
            {"x": x}
            for x in (
                "surgery on the right knee",
                "a blood transfusion",
                "supplemental oxygen",
                "dialysis three times a week",
                "a pacemaker",
            )
        ],
    },
]

# ----------------------------------------------------------------------------------------- legal
LEGAL_CONTEXT = [
    "Summary prepared for the client file.",
    "Noted in the case file on 3 February.",
    "Checked by the firm's paralegal.",
    "Update sent to the client on Friday.",
    "From the briefing notes for the partners' meeting.",
]
LEGAL: list[dict[str, Any]] = [
    {
        "name": "lease-pets",
        "frames": [
            ("{l} allows tenants to keep {x}.", "{l} does not allow tenants to keep {x}."),
            (
                "Under {l}, tenants are permitted to keep {x}.",
                "Under {l}, tenants are not permitted to keep {x}.",
            ),
        ],
        "queries": ["lease that allows {x}", "can tenants keep {x}", "rental rules permitting {x}"],
        "entities": [
            {"l": "the lease for the Elm Street flat", "x": "cats"},
            {"l": "the tenancy agreement", "x": "a dog under ten kilos"},
            {"l": "the building's rulebook", "x": "small caged birds"},
            {"l": "the rental contract for unit 4B", "x": "an aquarium"},
            {"l": "the student housing licence", "x": "pets"},
        ],
    },
    {
        "name": "clause",
        "frames": [
            ("The {k} includes {c}.", "The {k} does not include {c}."),
            ("The {k} contains {c}.", "The {k} contains no {cn}."),
        ],
        "queries": ["{k} with {c}", "{k} that has {c}", "{cn} in the {k}"],
        "entities": [
            {"k": "employment contract", "c": "a non-compete clause", "cn": "non-compete clause"},
            {"k": "supplier agreement", "c": "an arbitration clause", "cn": "arbitration clause"},
            {
                "k": "consulting contract",
                "c": "a confidentiality clause",
                "cn": "confidentiality clause",
            },
            {
                "k": "software licence",
                "c": "an automatic renewal clause",
                "cn": "automatic renewal clause",
            },
            {
                "k": "shareholder agreement",
                "c": "a right of first refusal",
                "cn": "right of first refusal",
            },
            {
                "k": "venue hire contract",
                "c": "a force majeure clause",
                "cn": "force majeure clause",
            },
        ],
    },
    {
        "name": "ruling",
        "frames": [
            ("The court granted {m}.", "The court denied {m}."),
            ("The tribunal granted {m}.", "The tribunal denied {m}."),
            ("{m_cap} was granted by the judge.", "{m_cap} was denied by the judge."),
        ],
        "queries": ["{m} granted", "court approves {m}", "successful {ms}"],
        "entities": [
            {"m": "the motion to dismiss", "ms": "motion to dismiss"},
            {"m": "the request for bail", "ms": "bail request"},
            {"m": "the application for an injunction", "ms": "injunction application"},
            {"m": "the petition for sole custody", "ms": "custody petition"},
            {"m": "the request for a new trial", "ms": "request for a retrial"},
            {"m": "the asylum appeal", "ms": "asylum appeal"},
        ],
    },
    {
        "name": "verdict",
        "frames": [
            ("The jury found {d} guilty of {c}.", "The jury found {d} not guilty of {c}."),
            ("{d_cap} was convicted of {c}.", "{d_cap} was not convicted of {c}."),
        ],
        "queries": ["convicted of {c}", "found guilty of {c}", "{c} conviction"],
        "entities": [
            {"d": "the defendant", "c": "fraud"},
            {"d": "Mr. Harlow", "c": "tax evasion"},
            {"d": "the company director", "c": "bribery"},
            {"d": "the driver", "c": "dangerous driving"},
            {"d": "Ms. Brandt", "c": "perjury"},
            {"d": "the night watchman", "c": "arson"},
        ],
    },
    {
        "name": "obligation",
        "frames": [
            ("The employer is required to {x}.", "The employer is not required to {x}."),
            ("The employer must {x}.", "The employer need not {x}."),
        ],
        "queries": [
            "employer obligation to {x}",
            "does the employer have to {x}",
            "must the employer {x}",
        ],
        "entities": [
            {"x": x}
            for x in (
                "pay overtime for weekend shifts",
                "reimburse travel expenses",
                "give one month's notice",
                "provide protective equipment",
                "pay sick leave from the first day",
            )
        ],
    },
    {
        "name": "coverage",
        "frames": [
            ("The {i} covers {x}.", "The {i} does not cover {x}."),
            ("{x_cap} is covered by the {i}.", "{x_cap} is not covered by the {i}."),
        ],
        "queries": ["{i} covering {x}", "is {x} covered", "insurance for {x}"],
        "entities": [
            {"i": "home insurance policy", "x": "water damage from burst pipes"},
            {"i": "two-year warranty", "x": "accidental drops"},
            {"i": "travel insurance", "x": "lost luggage"},
            {"i": "car insurance", "x": "theft from a parked car"},
            {"i": "renter's policy", "x": "flood damage"},
            {"i": "extended warranty", "x": "a cracked screen"},
        ],
    },
    {
        "name": "deadline",
        "frames": [
            (
                "The {x} was filed within the deadline.",
                "The {x} was not filed within the deadline.",
            ),
            ("The {x} was submitted on time.", "The {x} was not submitted on time."),
        ],
        "queries": ["{x} filed on time", "timely {x}", "{x} submitted before the deadline"],
        "entities": [
            {"x": x}
            for x in (
                "appeal",
                "tax return",
                "objection to the planning permit",
                "insurance claim",
                "application for judicial review",
            )
        ],
    },
    {
        "name": "responsibility",
        "frames": [
            ("The landlord is responsible for {x}.", "The landlord is not responsible for {x}."),
            (
                "Under the lease, the landlord pays for {x}.",
                "Under the lease, the landlord does not pay for {x}.",
            ),
        ],
        "queries": [
            "landlord responsible for {x}",
            "does the landlord pay for {x}",
            "landlord covers {x}",
        ],
        "entities": [
            {"x": x}
            for x in (
                "roof repairs",
                "replacing the boiler",
                "pest control",
                "garden maintenance",
                "repainting the hallway",
            )
        ],
    },
    {
        "name": "permission",
        "frames": [
            ("{x_cap} is allowed {w}.", "{x_cap} is forbidden {w}."),
            ("{x_cap} is permitted {w}.", "{x_cap} is prohibited {w}."),
        ],
        "queries": ["is {x} allowed {w}", "{x} permitted {w}", "rules allowing {x} {w}"],
        "entities": [
            {"x": "subletting", "w": "under the lease"},
            {"x": "smoking", "w": "on the balconies"},
            {"x": "overnight parking", "w": "on Harbour Road"},
            {"x": "drone flying", "w": "in the park"},
            {"x": "camping", "w": "on the beach"},
            {"x": "busking", "w": "in the station"},
        ],
    },
    {
        "name": "visa",
        "frames": [
            (
                "The {v} allows the holder to work {w}.",
                "The {v} does not allow the holder to work {w}.",
            ),
            ("Holders of the {v} can work {w}.", "Holders of the {v} cannot work {w}."),
        ],
        "queries": ["{v} that allows work", "can I work on a {v}", "{v} work rights"],
        "entities": [
            {"v": "student visa", "w": "up to twenty hours a week"},
            {"v": "tourist visa", "w": "for a local employer"},
            {"v": "working holiday visa", "w": "in any sector"},
            {"v": "spouse visa", "w": "full time"},
            {"v": "transit visa", "w": "during the stay"},
        ],
    },
    {
        "name": "will",
        "frames": [
            ("The will names {x}.", "The will does not name {x}."),
            ("The will leaves {x}.", "The will does not leave {x}."),
        ],
        "queries": ["will naming {x}", "testament that leaves {x}", "inheritance of {x}"],
        "pair_query": True,
        "entities": [
            {"x": "a guardian for the children"},
            {"x": "the house to the eldest daughter"},
            {"x": "an executor"},
            {"x": "the stamp collection to the museum"},
            {"x": "a trustee for the farm"},
            {"x": "the shares to the nephew"},
        ],
    },
    {
        "name": "liability",
        "frames": [
            ("The {o} is liable for {x}.", "The {o} is not liable for {x}."),
            (
                "The court held that the {o} was liable for {x}.",
                "The court held that the {o} was not liable for {x}.",
            ),
        ],
        "queries": ["{o} liable for {x}", "{o} has to pay for {x}", "liability of the {o} for {x}"],
        "entities": [
            {"o": "manufacturer", "x": "the injuries"},
            {"o": "hospital", "x": "the misdiagnosis"},
            {"o": "contractor", "x": "the collapsed wall"},
            {"o": "airline", "x": "the lost baggage"},
            {"o": "school", "x": "the playground accident"},
        ],
    },
]

# ------------------------------------------------------------------------------ technical/product
PRODUCT_CONTEXT = [
    "Available in black and silver.",
    "Released in the spring product line.",
    "Specifications from the manufacturer's data sheet.",
    "Reviewed by our hardware team last month.",
    "Ships in recyclable packaging.",
]
SOFTWARE_CONTEXT = [
    "From the release notes.",
    "Listed on the vendor's support page.",
    "Checked against the documentation for this release.",
    "Answer from the support forum.",
]
PRICE_CONTEXT = [
    "Quote valid for thirty days.",
    "Prices as listed on the website.",
    "Terms updated in January.",
]
TECHNICAL: list[dict[str, Any]] = [
    {
        "name": "feature",
        "frames": [
            ("The {d} supports {f}.", "The {d} does not support {f}."),
            ("{f_cap} is supported on the {d}.", "{f_cap} is not supported on the {d}."),
        ],
        "queries": ["{d} with {f}", "does the {d} support {f}", "{f} on the {d}"],
        "entities": [
            {"d": "Norva X2 phone", "f": "wireless charging"},
            {"d": "Kestrel 14 laptop", "f": "fast charging"},
            {"d": "Orbis action camera", "f": "4K video at 60 fps"},
            {"d": "Lyra tablet", "f": "a stylus"},
            {"d": "Pico mesh router", "f": "Wi-Fi 6"},
            {"d": "Tern smartwatch", "f": "contactless payments"},
        ],
    },
    {
        "name": "property",
        "frames": [
            ("The {x} is {a}.", "The {x} is not {a}."),
            (
                "According to the label, the {x} is {a}.",
                "According to the label, the {x} is not {a}.",
            ),
        ],
        "queries": ["{a} {x}", "is the {x} {a}", "{x} that is {a}"],
        "entities": [
            {"x": "Brava blender jug", "a": "dishwasher-safe"},
            {"x": "Fjell hiking jacket", "a": "waterproof"},
            {"x": "Castor frying pan", "a": "oven-safe"},
            {"x": "Delta tent", "a": "windproof"},
            {"x": "Onyx phone case", "a": "shockproof"},
            {"x": "Rill trail shoe", "a": "slip-resistant"},
        ],
    },
    {
        "name": "compatibility",
        "context": SOFTWARE_CONTEXT,
        "frames": [
            ("The {l} is compatible with {p}.", "The {l} is incompatible with {p}."),
            ("The {l} is compatible with {p}.", "The {l} is not compatible with {p}."),
        ],
        "queries": ["{l} compatible with {p}", "does the {l} work with {p}", "{l} {p} support"],
        "entities": [
            {"l": "quill parsing library", "p": "Python 3.12"},
            {"l": "Vanta printer driver", "p": "macOS Sonoma"},
            {"l": "Harbor backup tool", "p": "ARM processors"},
            {"l": "Mica plugin", "p": "Firefox"},
            {"l": "Strata database client", "p": "PostgreSQL 16"},
            {"l": "Reef game controller", "p": "the Switch"},
        ],
    },
    {
        "name": "in-the-box",
        "frames": [
            ("The {d} comes with {a}.", "The {d} comes without {a}."),
            ("The {d} is sold with {a}.", "The {d} is sold without {a}."),
        ],
        "queries": [
            "{d} with {a} included",
            "does the {d} include {a}",
            "{a} in the box of the {d}",
        ],
        "entities": [
            {"d": "Norva X3 phone", "a": "a charger"},
            {"d": "Quark drone", "a": "a spare battery"},
            {"d": "Aria headphones", "a": "a carrying case"},
            {"d": "Fenix drill", "a": "a set of bits"},
            {"d": "Lumen desk lamp", "a": "a bulb"},
            {"d": "Sable keyboard", "a": "a USB-C cable"},
        ],
    },
    {
        "name": "requirement",
        "context": SOFTWARE_CONTEXT,
        "frames": [
            ("The {a} requires {x}.", "The {a} does not require {x}."),
            ("{x_cap} is required to use the {a}.", "{x_cap} is not required to use the {a}."),
        ],
        "queries": ["{a} that needs {x}", "does the {a} require {x}", "{x} for the {a}"],
        "entities": [
            {"a": "weather API", "x": "an API key"},
            {"a": "photo editor", "x": "a subscription"},
            {"a": "installer", "x": "administrator rights"},
            {"a": "banking app", "x": "a fingerprint login"},
            {"a": "map service", "x": "a constant internet connection"},
            {"a": "game", "x": "a dedicated graphics card"},
        ],
    },
    {
        "name": "offline",
        "context": SOFTWARE_CONTEXT,
        "frames": [
            ("The {a} works offline.", "The {a} does not work offline."),
            ("The {a} can be used offline.", "The {a} cannot be used offline."),
        ],
        "queries": ["{a} that works offline", "offline use of the {a}", "{a} offline mode"],
        "entities": [
            {"a": a}
            for a in (
                "Tala translation app",
                "Contour maps app",
                "Ledger notes app",
                "Vesper music player",
                "Sprout language course",
            )
        ],
    },
    {
        "name": "price",
        "context": PRICE_CONTEXT,
        "frames": [
            ("The {p} includes {x}.", "The {p} excludes {x}."),
            ("The {p} includes {x}.", "The {p} does not include {x}."),
        ],
        "queries": ["{p} including {x}", "is {x} included in the {p}", "{p} with {x}"],
        "entities": [
            {"p": "quoted price", "x": "VAT"},
            {"p": "monthly fee", "x": "unlimited data"},
            {"p": "annual plan", "x": "cloud backup"},
            {"p": "repair estimate", "x": "labour"},
            {"p": "ticket price", "x": "a seat reservation"},
            {"p": "rental rate", "x": "insurance"},
        ],
    },
    {
        "name": "default",
        "context": SOFTWARE_CONTEXT,
        "frames": [
            ("{f_cap} is enabled by default.", "{f_cap} is disabled by default."),
            ("In the {a}, {f} is enabled by default.", "In the {a}, {f} is disabled by default."),
        ],
        "queries": [
            "{f} on by default",
            "is {f} enabled by default in the {a}",
            "default {f} setting",
        ],
        "entities": [
            {"f": "two-factor authentication", "a": "admin console"},
            {"f": "automatic updates", "a": "desktop client"},
            {"f": "telemetry", "a": "code editor"},
            {"f": "disk encryption", "a": "laptop setup"},
            {"f": "spell checking", "a": "mail app"},
            {"f": "location sharing", "a": "fitness app"},
        ],
    },
    {
        "name": "replaceable",
        "frames": [
            (
                "The {x} of the {d} can be replaced by the user.",
                "The {x} of the {d} cannot be replaced by the user.",
            ),
            ("Users can replace the {x} of the {d}.", "Users cannot replace the {x} of the {d}."),
        ],
        "queries": [
            "{d} with a user-replaceable {x}",
            "can I replace the {x} of the {d}",
            "{d} {x} replacement at home",
        ],
        "entities": [
            {"x": "battery", "d": "Kestrel 13 laptop"},
            {"x": "memory", "d": "Atlas mini PC"},
            {"x": "filter", "d": "Zephyr air purifier"},
            {"x": "strap", "d": "Tern smartwatch"},
            {"x": "blade", "d": "Corvo shaver"},
        ],
    },
    {
        "name": "fix",
        "context": SOFTWARE_CONTEXT,
        "frames": [
            ("Version {v} fixes {b}.", "Version {v} does not fix {b}."),
            ("The {v} update fixed {b}.", "The {v} update did not fix {b}."),
        ],
        "queries": ["update that fixes {b}", "does {v} fix {b}", "{b} resolved in version {v}"],
        "entities": [
            {"v": "2.4", "b": "the login bug"},
            {"v": "5.1.2", "b": "the battery drain"},
            {"v": "3.0", "b": "the crash on start-up"},
            {"v": "1.9", "b": "the sync conflict"},
            {"v": "7.2", "b": "the memory leak in the editor"},
            {"v": "4.6", "b": "the Bluetooth dropouts"},
        ],
    },
    {
        "name": "availability",
        "context": SOFTWARE_CONTEXT,
        "frames": [
            ("The {a} is available on {p}.", "The {a} is not available on {p}."),
            ("The {a} is available on {p}.", "The {a} is unavailable on {p}."),
        ],
        "queries": ["{a} on {p}", "is the {a} available for {p}", "{a} {p} version"],
        "entities": [
            {"a": "Tala app", "p": "Android"},
            {"a": "Ledger desktop client", "p": "Linux"},
            {"a": "Vesper player", "p": "smart TVs"},
            {"a": "Harbor service", "p": "the EU region"},
            {"a": "Sprout course", "p": "iPad"},
        ],
    },
    {
        "name": "hardware",
        "frames": [
            ("The {d} has {x}.", "The {d} does not have {x}."),
            ("The {d} has {x}.", "The {d} has no {xn}."),
        ],
        "queries": ["{d} with {x}", "does the {d} have {x}", "{xn} on the {d}"],
        "entities": [
            {"d": "Kestrel 15 laptop", "x": "an HDMI port", "xn": "HDMI port"},
            {"d": "Norva X1 phone", "x": "a headphone jack", "xn": "headphone jack"},
            {"d": "Atlas tower", "x": "an optical drive", "xn": "optical drive"},
            {"d": "Lyra e-reader", "x": "a backlight", "xn": "backlight"},
            {"d": "Orbis dashcam", "x": "a GPS receiver", "xn": "GPS receiver"},
            {"d": "Pico router", "x": "a USB port", "xn": "USB port"},
        ],
    },
]

# --------------------------------------------------------------------------------------- general
GENERAL_CONTEXT = [
    "Information checked with the owners this week.",
    "It is a short walk from the old town.",
    "Details may change during public holidays.",
    "Visitors often arrive by bus.",
    "The listing was last updated in June.",
]
FOOD_CONTEXT = [
    "From the recipe card.",
    "Serves four.",
    "Listed on the packaging.",
]
GENERAL: list[dict[str, Any]] = [
    {
        "name": "hours",
        "frames": [
            ("The {x} is open on {d}.", "The {x} is closed on {d}."),
            ("The {x} is open on {d}.", "The {x} is not open on {d}."),
        ],
        "queries": [
            "{x} open on {d}",
            "can I visit the {x} on {d}",
            "opening hours of the {x} on {d}",
        ],
        "entities": [
            {"x": "city museum", "d": "Mondays"},
            {"x": "public library", "d": "Sundays"},
            {"x": "botanical garden", "d": "public holidays"},
            {"x": "swimming pool", "d": "Tuesday mornings"},
            {"x": "farmers' market", "d": "Saturdays"},
            {"x": "castle", "d": "weekdays in winter"},
        ],
    },
    {
        "name": "menu",
        "frames": [
            ("{r} serves {f}.", "{r} does not serve {f}."),
            ("The menu at {r} includes {f}.", "The menu at {r} does not include {f}."),
        ],
        "queries": ["restaurant serving {f}", "does {r} have {f}", "{f} at {r}"],
        "entities": [
            {"r": "Casa Lumo", "f": "vegan dishes"},
            {"r": "the harbour café", "f": "breakfast"},
            {"r": "Noodle Yard", "f": "gluten-free options"},
            {"r": "the Blue Fig", "f": "halal meat"},
            {"r": "Trattoria Sole", "f": "wine by the glass"},
            {"r": "the station kiosk", "f": "hot food"},
        ],
    },
    {
        "name": "train",
        "frames": [
            ("The {t} stops at {s}.", "The {t} does not stop at {s}."),
            ("The {t} calls at {s}.", "The {t} does not call at {s}."),
        ],
        "queries": ["{t} stopping at {s}", "does the {t} stop at {s}", "train to {s}"],
        "entities": [
            {"t": "8:15 express", "s": "Millbrook"},
            {"t": "night train to Vienna", "s": "Salzburg"},
            {"t": "airport shuttle", "s": "the central station"},
            {"t": "coastal line", "s": "Port Alder"},
            {"t": "weekend service", "s": "Greyfield"},
            {"t": "number 12 tram", "s": "the university"},
        ],
    },
    {
        "name": "ingredients",
        "context": FOOD_CONTEXT,
        "frames": [
            ("This {d} contains {i}.", "This {d} contains no {i}."),
            ("This {d} contains {i}.", "This {d} does not contain {i}."),
        ],
        "queries": ["{d} with {i}", "{d} made with {i}", "does this {d} have {i}"],
        "entities": [
            {"d": "pesto", "i": "pine nuts"},
            {"d": "granola", "i": "added sugar"},
            {"d": "curry paste", "i": "shrimp"},
            {"d": "chocolate cake", "i": "eggs"},
            {"d": "soup", "i": "cream"},
            {"d": "salad dressing", "i": "mustard"},
        ],
    },
    {
        "name": "pets",
        "frames": [
            ("{h} allows dogs in the rooms.", "{h} does not allow dogs in the rooms."),
            ("Dogs are allowed at {h}.", "Dogs are not allowed at {h}."),
        ],
        "queries": [
            "dog-friendly hotel in {c}",
            "{h} dogs allowed",
            "hotel in {c} that accepts dogs",
        ],
        "entities": [
            {"h": "the Hotel Meridian", "c": "Lisbon"},
            {"h": "Pine Lodge", "c": "Banff"},
            {"h": "the Old Mill guesthouse", "c": "York"},
            {"h": "Casa Verde", "c": "Seville"},
            {"h": "the Lakeside Inn", "c": "Geneva"},
        ],
    },
    {
        "name": "parking",
        "frames": [
            ("The {v} has free parking.", "The {v} has no free parking."),
            (
                "The {v} offers free parking for visitors.",
                "The {v} does not offer free parking for visitors.",
            ),
        ],
        "queries": [
            "{v} with free parking",
            "free parking at the {v}",
            "can I park for free at the {v}",
        ],
        "entities": [
            {"v": v} for v in ("concert hall", "zoo", "garden centre", "ski resort", "stadium")
        ],
    },
    {
        "name": "tickets",
        "frames": [
            ("Tickets for the {e} are refundable.", "Tickets for the {e} are non-refundable."),
            ("Tickets for the {e} can be refunded.", "Tickets for the {e} cannot be refunded."),
        ],
        "queries": [
            "refundable tickets for the {e}",
            "can I get a refund for the {e}",
            "{e} ticket refunds",
        ],
        "entities": [
            {"e": e}
            for e in (
                "jazz festival",
                "football final",
                "theatre premiere",
                "river cruise",
                "wine tasting",
                "marathon",
            )
        ],
    },
    {
        "name": "suitable",
        "frames": [
            (
                "The {e} is suitable for young children.",
                "The {e} is not suitable for young children.",
            ),
            (
                "The {e} is suitable for young children.",
                "The {e} is unsuitable for young children.",
            ),
        ],
        "queries": ["{e} for young children", "is the {e} good for kids", "family-friendly {e}"],
        "entities": [
            {"e": e}
            for e in (
                "puppet show",
                "haunted house tour",
                "science exhibition",
                "rock climbing course",
                "opera matinee",
                "night safari",
            )
        ],
    },
    {
        "name": "flight",
        "frames": [
            ("The {f} includes {x}.", "The {f} does not include {x}."),
        ],
        "queries": ["{f} with {x}", "does the {f} include {x}", "{x} on the {f}"],
        "entities": [
            {"f": "flight to Reykjavik", "x": "a hot meal"},
            {"f": "basic economy fare", "x": "a checked bag"},
            {"f": "overnight ferry", "x": "a private cabin"},
            {"f": "coach tour", "x": "a guide"},
            {"f": "city pass", "x": "public transport"},
        ],
    },
    {
        "name": "classes",
        "frames": [
            ("{s} offers evening classes in {x}.", "{s} does not offer evening classes in {x}."),
            ("{s} has evening classes in {x}.", "{s} has no evening classes in {x}."),
        ],
        "queries": [
            "evening classes in {x}",
            "{s} {x} evening course",
            "where can I study {x} at night",
        ],
        "entities": [
            {"s": "the community college", "x": "pottery"},
            {"s": "Westside Adult School", "x": "Spanish"},
            {"s": "the art centre", "x": "life drawing"},
            {"s": "the music academy", "x": "jazz piano"},
            {"s": "the technical institute", "x": "welding"},
        ],
    },
    {
        "name": "beach",
        "frames": [
            ("{b} has a lifeguard on duty in summer.", "{b} has no lifeguard on duty in summer."),
            ("There is a lifeguard at {b} in summer.", "There is no lifeguard at {b} in summer."),
        ],
        "queries": [
            "beach with a lifeguard",
            "lifeguard at {b}",
            "is {b} supervised by lifeguards",
        ],
        "entities": [
            {"b": b}
            for b in (
                "Sandy Cove",
                "North Bay beach",
                "Gull Point",
                "Marram Strand",
                "the lake beach at Elsen",
            )
        ],
    },
    {
        "name": "access",
        "frames": [
            ("The {x} is accessible by wheelchair.", "The {x} is not accessible by wheelchair."),
            ("The {x} has step-free access.", "The {x} has no step-free access."),
        ],
        "queries": [
            "wheelchair accessible {x}",
            "step-free access to the {x}",
            "{x} for wheelchair users",
        ],
        "entities": [
            {"x": x}
            for x in (
                "town hall",
                "old cinema",
                "cathedral crypt",
                "ferry terminal",
                "observation deck",
            )
        ],
    },
]

# ------------------------------------------------------------------------------- query-side items
QUERY_SIDE: list[dict[str, Any]] = [
    {
        "domain": "medical",
        "name": "but-not",
        "queries": [
            "patients with {a} but not {b}",
            "{a} without {b}",
            "patients with {a}, excluding those with {b}",
        ],
        "frames": [("{p} has {a} but no {b}.", "{p} has {a} and {b}.")],
        "entities": [
            {"a": "diabetes", "b": "hypertension"},
            {"a": "asthma", "b": "eczema"},
            {"a": "obesity", "b": "sleep apnoea"},
            {"a": "heart failure", "b": "kidney disease"},
            {"a": "anaemia", "b": "iron deficiency"},
        ],
    },
    {
        "domain": "medical",
        "name": "no-side-effect",
        "context": DRUG_CONTEXT,
        "queries": ["{k} that does not cause {s}", "{k} without {s}", "{k}, no {s}"],
        "frames": [("{d} does not cause {s}.", "{d} causes {s}.")],
        "entities": [
            {"d": "Lumitrel", "k": "antihistamine", "s": "drowsiness"},
            {"d": "Dafinex", "k": "painkiller", "s": "stomach irritation"},
            {"d": "Pelmorin", "k": "blood pressure tablet", "s": "a dry cough"},
            {"d": "Ostrazan", "k": "antidepressant", "s": "weight gain"},
        ],
    },
    {
        "domain": "medical",
        "name": "no-prescription",
        "context": DRUG_CONTEXT,
        "queries": ["{k} available without a prescription", "{k} you can buy with no prescription"],
        "frames": [
            (
                "{d} can be bought without a prescription.",
                "{d} can be bought only with a prescription.",
            )
        ],
        "entities": [
            {"d": "Quinavet cream", "k": "eczema cream"},
            {"d": "Ravolex spray", "k": "nasal spray"},
            {"d": "Tavorin drops", "k": "eye drops"},
            {"d": "Zelmidra gel", "k": "joint pain gel"},
        ],
    },
    {
        "domain": "legal",
        "name": "without-clause",
        "queries": [
            "{k} without {c}",
            "{k} that does not include {c}",
            "{k}, excluding ones with {c}",
        ],
        "frames": [("The {k} does not include {c}.", "The {k} includes {c}.")],
        "entities": [
            {"k": "freelance contract", "c": "a non-compete clause"},
            {"k": "phone plan", "c": "a minimum term"},
            {"k": "partnership deed", "c": "an arbitration clause"},
            {"k": "gym membership", "c": "an automatic renewal"},
        ],
    },
    {
        "domain": "legal",
        "name": "not-allowed",
        "queries": [
            "{k} that does not allow {x}",
            "{k} where {x} is not permitted",
            "{k} banning {x}",
        ],
        "frames": [("The {k} does not allow {x}.", "The {k} allows {x}.")],
        "entities": [
            {"k": "lease", "x": "smoking indoors"},
            {"k": "housing association", "x": "short-term rentals"},
            {"k": "campsite", "x": "open fires"},
            {"k": "condominium", "x": "satellite dishes on balconies"},
        ],
    },
    {
        "domain": "legal",
        "name": "not-guilty",
        "queries": [
            "defendants acquitted of {c}",
            "trials where the accused was not found guilty of {c}",
            "{c} charges that did not end in a conviction",
        ],
        "frames": [("The jury found {d} not guilty of {c}.", "The jury found {d} guilty of {c}.")],
        "entities": [
            {"d": "the accountant", "c": "embezzlement"},
            {"d": "the shop owner", "c": "receiving stolen goods"},
            {"d": "Mr. Quint", "c": "manslaughter"},
            {"d": "the landlord", "c": "harassment"},
        ],
    },
    {
        "domain": "technical",
        "name": "without-part",
        "queries": ["{k} without {x}", "{k} that has no {xn}", "{k}, excluding models with {x}"],
        "frames": [("The {d} does not have {x}.", "The {d} has {x}.")],
        "entities": [
            {"d": "Kestrel Air laptop", "k": "laptop", "x": "a touchscreen", "xn": "touchscreen"},
            {"d": "Norva Mini phone", "k": "phone", "x": "a camera bump", "xn": "camera bump"},
            {"d": "Lyra Basic tablet", "k": "tablet", "x": "a fan", "xn": "fan"},
            {
                "d": "Pico One router",
                "k": "router",
                "x": "external antennas",
                "xn": "external antennas",
            },
        ],
    },
    {
        "domain": "technical",
        "name": "not-wireless",
        "queries": ["{k} excluding {a} models", "{k} that are not {a}", "non-{a} {k}"],
        "frames": [("The {d} {k} are not {a}.", "The {d} {k} are {a}.")],
        "entities": [
            {"d": "Aria Studio", "k": "headphones", "a": "wireless"},
            {"d": "Rill Pro", "k": "running shoes", "a": "waterproof"},
            {"d": "Fjell Classic", "k": "gloves", "a": "touchscreen-compatible"},
            {"d": "Sable Slim", "k": "earbuds", "a": "noise-cancelling"},
        ],
    },
    {
        "domain": "technical",
        "name": "no-internet",
        "context": SOFTWARE_CONTEXT,
        "queries": [
            "{k} that works without an internet connection",
            "{k} with no internet needed",
            "offline {k}, not cloud-based",
        ],
        "frames": [
            (
                "{a} works without an internet connection.",
                "{a} works only with an internet connection.",
            )
        ],
        "entities": [
            {"a": "The Tala dictionary", "k": "dictionary app"},
            {"a": "The Contour navigator", "k": "navigation app"},
            {"a": "Ledger Lite", "k": "budgeting tool"},
            {"a": "The Vesper radio", "k": "podcast player"},
        ],
    },
    {
        "domain": "general",
        "name": "no-smoking",
        "queries": [
            "hotels in {c} that don't allow smoking",
            "non-smoking hotel in {c}",
            "{c} hotel where smoking is not allowed",
        ],
        "frames": [("{h} in {c} does not allow smoking.", "{h} in {c} allows smoking.")],
        "entities": [
            {"h": "The Grand Aurora", "c": "Prague"},
            {"h": "Hotel Sirocco", "c": "Naples"},
            {"h": "The Bramble", "c": "Edinburgh"},
            {"h": "Kaia House", "c": "Tallinn"},
        ],
    },
    {
        "domain": "general",
        "name": "without-ingredient",
        "context": FOOD_CONTEXT,
        "queries": ["{d} recipes without {i}", "{d} but not with {i}", "{d}, no {i}"],
        "frames": [("This {d} is made without {i}.", "This {d} is made with {i}.")],
        "entities": [
            {"d": "vegetarian lasagne", "i": "mushrooms"},
            {"d": "lentil soup", "i": "onions"},
            {"d": "banana bread", "i": "butter"},
            {"d": "fried rice", "i": "soy sauce"},
        ],
    },
    {
        "domain": "general",
        "name": "direct",
        "queries": [
            "flights from {a} to {b} with no stopover",
            "direct flight {a} {b}, no layover",
            "nonstop flights {a} to {b}, excluding connections",
        ],
        "frames": [
            (
                "The morning flight from {a} to {b} has no stopover.",
                "The morning flight from {a} to {b} has a stopover.",
            )
        ],
        "entities": [
            {"a": "Oslo", "b": "Madrid"},
            {"a": "Dublin", "b": "Boston"},
            {"a": "Lyon", "b": "Rome"},
            {"a": "Warsaw", "b": "Athens"},
        ],
    },
    {
        "domain": "general",
        "name": "not-stopping",
        "queries": [
            "trains that do not stop at {s}",
            "{t} skipping {s}",
            "services not calling at {s}",
        ],
        "frames": [("The {t} does not stop at {s}.", "The {t} stops at {s}.")],
        "entities": [
            {"t": "fast train", "s": "Hollins Cross"},
            {"t": "evening bus", "s": "the hospital"},
            {"t": "limited-stop coach", "s": "Ravensworth"},
            {"t": "holiday timetable service", "s": "Eastgate"},
        ],
    },
]

DOMAINS = {"medical": MEDICAL, "legal": LEGAL, "technical": TECHNICAL, "general": GENERAL}
CONTEXT = {
    "medical": MEDICAL_CONTEXT,
    "legal": LEGAL_CONTEXT,
    "technical": PRODUCT_CONTEXT,
    "general": GENERAL_CONTEXT,
}
PREFIX = {"medical": "med", "legal": "leg", "technical": "tec", "general": "gen"}


def _format(template: str, slots: dict[str, str]) -> str:
    values = dict(slots)
    for key, value in slots.items():
        values[f"{key}_cap"] = value[:1].upper() + value[1:]
    return template.format(**values)


def _fill(template: str, slots: dict[str, str]) -> str:
    text = _format(template, slots)
    return text[:1].upper() + text[1:]


def _item(
    rng: random.Random, domain: str, template: dict[str, Any], entity: dict[str, str], k: int
) -> tuple[str, str, str]:
    """One (query, positive, negative) of a template, frames and phrasings drawn by ``rng``."""
    slots = dict(entity)
    if "{p}" in str(template["frames"]):
        slots.setdefault("p", rng.choice(PATIENTS))
    if template.get("pair_query"):  # each frame has its own query: keep them paired
        index = k % len(template["frames"])
        frame, query = template["frames"][index], template["queries"][index]
    else:
        frame, query = rng.choice(template["frames"]), rng.choice(template["queries"])
    positive, negative = (_fill(part, slots) for part in frame)
    roll = rng.random()
    if roll < 0.5:  # a neutral context sentence, before or after the claim
        context = rng.choice(template.get("context", CONTEXT[domain]))
        if roll < 0.25:
            positive, negative = f"{context} {positive}", f"{context} {negative}"
        else:
            positive, negative = f"{positive} {context}", f"{negative} {context}"
    return _format(query, slots), positive, negative


def build() -> list[dict[str, str]]:
    """Every item of the set, in a fixed order (document-side by domain, then query-side)."""
    rng = random.Random(SEED)
    items: list[dict[str, str]] = []
    counts: dict[str, int] = {}
    for domain, templates in DOMAINS.items():
        for template in templates:
            for k, entity in enumerate(template["entities"]):
                query, positive, negative = _item(rng, domain, template, entity, k)
                items.append(
                    _row(counts, domain, "document", template["name"], query, positive, negative)
                )
    for template in QUERY_SIDE:
        domain = template["domain"]
        for k, entity in enumerate(template["entities"]):
            query, positive, negative = _item(rng, domain, template, entity, k)
            items.append(_row(counts, domain, "query", template["name"], query, positive, negative))
    check(items)
    return items


def _row(
    counts: dict[str, int],
    domain: str,
    side: str,
    name: str,
    query: str,
    positive: str,
    negative: str,
) -> dict[str, str]:
    key = f"{PREFIX[domain]}-{side[0]}"
    counts[key] = counts.get(key, 0) + 1
    return {
        "id": f"{key}-{counts[key]:03d}",
        "domain": domain,
        "side": side,
        "template": name,
        "query": query,
        "positive": positive,
        "negative": negative,
    }


NEGATION_WORDS = ("not", "no", "without", "excluding", "never", "don't", "non-", "acquitted",
                  "skipping", "banning", "nonstop")  # fmt: skip


def check(items: list[dict[str, str]]) -> None:
    """Refuse a set with a pair that is not a polarity twin, a misplaced negation or a repeat."""
    sys.path.insert(0, str(ROOT))
    from plait.training.negation import is_polarity_twin

    texts: set[str] = set()
    for item in items:
        pair = (item["positive"], item["negative"])
        if not is_polarity_twin(*pair):
            raise ValueError(f"{item['id']}: not a polarity twin: {pair}")
        words = item["query"].lower().replace(",", " ").split()
        negated = any(
            w in NEGATION_WORDS or (w.startswith("non-") and w != "non-compete") for w in words
        )
        if negated != (item["side"] == "query"):
            raise ValueError(f"{item['id']}: {item['side']}-side query {item['query']!r}")
        for text in pair:
            if text in texts:
                raise ValueError(f"{item['id']}: repeated text {text!r}")
            texts.add(text)


def render(items: list[dict[str, str]]) -> str:
    """The JSON-lines text of the set."""
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def main(argv: list[str] | None = None) -> int:
    """Write (or ``--check``) ``plait/data/negation_dev.jsonl``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        same = OUTPUT.is_file() and OUTPUT.read_text(encoding="utf-8") == text
        print(f"{OUTPUT.relative_to(ROOT)} is {'current' if same else 'stale'}")
        return 0 if same else 1
    OUTPUT.write_text(text, encoding="utf-8")
    items = build()
    sides = {side: sum(i["side"] == side for i in items) for side in ("document", "query")}
    print(f"wrote {len(items)} items to {OUTPUT.relative_to(ROOT)} ({sides})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
