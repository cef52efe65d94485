"""Version numbers of what the warehouse keeps from matching: raise one and a deploy computes it again.

Kept apart from the modules they version so that a quiet tick can ask whether anything is stale
(:mod:`pipelines.matching.pending`) without loading the normalisers and their libraries.
"""

# The accounts' match keys (pipelines.matching.keys and its normalisers): stored keys of an older
# version are recomputed. 4: street lines written in parts ("Flat 3, 25 High St", "Av. Paulista, 1578");
# 5: only the legal forms written before a name in their own legal systems leave its start ("BT Group");
# 6: directions in city names ("W. Hollywood"), and no name where a placeholder stands for one ("N/A");
# 7: letters of other alphabets in Latin ("Søren", "ООО Ромашка"), names typed as web addresses ("Acme.com"),
# ordinals in names ("Fifth Third" / "5th 3rd"), more placeholders ("Other", "Home", "LLC" alone, "0");
# 8: a whole US address typed on the street line ("100 Main St Springfield IL 62701"): its street read by
# usaddress, its city, state and ZIP code the record's where its own fields are empty; five digits after a numbered
# street a postal code ("12 Rue de la Paix 75002"); a company typed as a URL or an email address ("jo@acme.com":
# acme; a free-mail address: none); the first of two phones,
# sites or addresses in one field, a number dialled from abroad ("0044 ...") as one with its "+";
# 9: the branch a name's closing brackets name ("Spago (Las Vegas)"), a person's email address (no
# one's: "info@", "none@none.com"), streets' dotted directions ("N.W.") and roads' numbers ("Hwy 101");
# 10: a rep's note set apart in a name ("Acme Corp - DUPLICATE", "*DO NOT USE* Acme") is not the name, nor whom
# its mail is for or the name it had ("Acme Corp c/o John Smith", "fka Beta Inc"); a site
# on a host of customers' subdomains is the customer's ("acme.herokuapp.com"), a profile page no one's domain
# ("linkedin.com/company/acme"); a bare number after a numbered street's type is its unit ("100 Main St 5");
# 11: where a company is, after its legal form ("DSM N.V. te Heerlen", "Unilever NV (NL"), is not
# its name; legal forms run into the name ("N.V.Nutricia", "Akzo Nobel,NV."), escaped "&amp;", a mark before a name,
# "Naamlooze Vennootschap", "Technologie" / "Tecnologia" / "Compagnie" as "tech" / "cie",
# Mexico's "S.A.B. de C.V." and "S. de R.L. de C.V.", a street's direction of two words written out ("North West");
# 12: an underscore between words is a space ("ACME_CORP", "Acme_Labs_Inc"), and a legal form in initials after
# the name's own, written apart from them, is the form ("D S M N. V.", "I.B.M. A.G."; not "F.L.A.G.").
# 13: an address pasted after a legal form is not the name ("Adidas AG Adi-Dassler-Strasse 1 91074 Germany", "AXA SA
# 75008 Paris"); "Societe Europeenne" is SE.
# 14: the address cut from a name is kept (``name_where``), so that a place written after another record's name is
# read against it ("Allianz SE Munich Germany" / "Allianz SE 80802 Munich Germany"); legal forms glued to Japanese,
# Chinese and Korean names leave them ("株式会社東芝", "東芝㈱"), and kana's voicing marks stay ("ガス" is not "カス").
KEY_VERSION = 14

# How models are learned (pipelines.matching.learn): stored models are learned again.
# 2: partial agreements weigh what the data says; 3: sessions of one free comparison teach it;
# 4: u sums to one over a comparison's levels after its floor lifts the rare ones; 5: *close* names are one long
# word mistyped in a long name too (compare.LONG_NAME), and for companies no word another from its first letter;
# 6: a name *contained* in another may have one long word a letter off in it, and a rare word a letter off a
# common one is blocked with it (more candidate pairs); 7: each EM session starts from its own pairs' share, names
# are compared against their list (a word most of them end with, an article, a word cut short), and where matches
# are common among random pairs those pairs teach the comparisons no blocked session taught (stops 53 and 54);
# 8: a doubled letter written once makes two names *close*, a place after a legal form that the other's address
# gives makes them a *variant* (stop 55).
# 9: u of an exact name, domain, email address or date of birth is counted from how often each value occurs, not
# from random pairs (stop 58).
LEARNING_METHOD = 9
