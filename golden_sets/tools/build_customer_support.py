#!/usr/bin/env python3
"""Build golden_sets/customer_support/cases.jsonl from the hand-written tickets below. Deterministic.

    python golden_sets/tools/build_customer_support.py           # (re)write cases.jsonl
    python golden_sets/tools/build_customer_support.py --check   # exit 1 if cases.jsonl differs from the build

cases.jsonl is the reviewed artifact; this script shows how it was made and rebuilds it after an edit here.
Every ticket text is written by hand. The script only fills in identifiers and derives references:

* ``{order_id}``, ``{order_id_hash}`` ("#KC..."), ``{order_id_lc}`` (lower case), ``{order_id2}`` (a second
  order), ``{email}`` and ``{name}`` are replaced by made-up values from a seeded random generator;
* ``[field:shown=canonical]`` (or ``[field:shown]`` when both are the same) marks a value in the text: the
  text reads ``shown``; an extraction case's reference gets ``field: canonical``.

An extraction case's reference holds exactly the fields its text contains (order ids and emails from the
slots, amounts, dates and products from the marks). Structured and qa references are written by hand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
from pathlib import Path

import yaml

SUITE_DIR = Path(__file__).resolve().parents[1] / "customer_support"
SEED = 20261128
INTENTS = [
    "order_status", "refund", "billing", "shipping",
    "account_access", "technical_issue", "product_info", "cancellation",
]
TASK_TYPES = ["classification", "extraction", "structured", "qa"]


def T(text: str, *tags: str) -> tuple[str, list[str]]:
    """A ticket text with optional tags (e.g. "typo", "distractor")."""
    return text, list(tags)


def S(priority: str, needs_human: bool, summary: str, text: str, *tags: str) -> dict:
    """A structured-triage ticket with its expected priority, needs_human and a reference summary."""
    return {"priority": priority, "needs_human": needs_human, "summary": summary, "text": text, "tags": list(tags)}


def Q(question: str, answer: str, scorer: str | None = None, params: dict | None = None, *tags: str) -> dict:
    """A policy question with its short answer and an optional scorer override."""
    return {"text": question, "answer": answer, "scorer": scorer, "params": params, "tags": list(tags)}


def NUM(question: str, answer: str, abs_tol: float = 0.0, *tags: str) -> dict:
    return Q(question, answer, "numeric_tolerance", {"abs_tol": abs_tol} if abs_tol else {}, *tags)


def HAS(question: str, answer: str, *any_of: str) -> dict:
    return Q(question, answer, "contains", {"any_of": list(any_of)} if any_of else {})


def RX(question: str, answer: str, pattern: str) -> dict:
    return Q(question, answer, "regex", {"pattern": pattern})


YES = r"^\W*yes\b"
NO = r"^\W*no\b"

# ------------------------------------------------------------------------------------------- classification
# Reference: the intent. 11 cases for the first four intents, 10 for the others (84 in all).
CLASSIFICATION: dict[str, list] = {
    "order_status": [
        T("Hi, I placed order {order_id_hash} last Thursday and it still says 'processing'. Has it shipped yet?"),
        T("where is my order?? tracking number hasnt updated since monday", "typo"),
        T("Hello, could you tell me the estimated delivery date for order {order_id}? I need it before my "
          "daughter's birthday on the 20th."),
        T("Order {order_id} - the status page has said 'label created' for 4 days now. Is it actually moving?"),
        T("I ordered a rug and a lamp on the same order but only got a tracking link for the lamp. Is the rug "
          "coming separately?"),
        T("Good morning. Can you confirm whether my order has left the warehouse yet? Order number {order_id}.\n"
          "Thanks, {name}"),
        T("Just checking in on {order_id_lc}, it was supposed to arrive yesterday according to the confirmation "
          "email"),
        T("Tracking shows my package sitting in Memphis since Saturday. Any idea when it'll get moving again?"),
        T("I never got a shipping confirmation for the order I placed on the 2nd. Did it go out?"),
        T("hey is there a way to see where my stuff is? i checked out as a guest so no account. order {order_id}",
          "typo"),
        T("My order page shows 'Partially shipped'. What does that mean and when does the rest come?"),
    ],
    "refund": [
        T("I returned the blender two weeks ago and still haven't seen my money back. Order {order_id_hash}."),
        T("The jacket doesn't fit, I'd like to send it back and get a refund please."),
        T("Hi, the earbuds arrived with a cracked charging case. I want my money back, not a replacement."),
        T("UPS shows you received my return on the 3rd. When will the refund hit my card?"),
        T("you refunded me $18 but i paid $32 for the pillowcases. where is the rest", "typo"),
        T("I'd like to return an unopened coffee grinder, it was a duplicate wedding gift. Can the refund go to "
          "the card that bought it? My friend ordered it."),
        T("How do I start a return for order {order_id}? The lamp shade came in the wrong color."),
        T("Got a refund notification but it says store credit. I want it back on my Visa please."),
        T("Refund status please - the return label for {order_id} was scanned over 10 days ago.\n{name}"),
        T("the tent poles snapped the first time we set it up, i want to return it and get reimbursed", "typo"),
        T("My return was rejected because the box had been opened?? Nobody told me that. I want my refund."),
    ],
    "billing": [
        T("I was charged twice for order {order_id}. Please fix this ASAP."),
        T("There's a charge from KESTREL*CO on my statement that I don't recognize. I didn't order anything this "
          "month."),
        T("Could I get a VAT invoice for order {order_id}? I need my company name on it for reimbursement."),
        T("My promo code WELCOME15 didn't apply at checkout and I paid full price. Can you adjust the charge?"),
        T("How do I remove an old credit card from my account and add a new one?"),
        T("The desk I bought dropped by $40 three days after I ordered it. Do you do price adjustments?"),
        T("my gift card says balance $0 but i only used part of it??", "typo"),
        T("Why is there a pending charge of $212.40 on my card when my order total was $198.00?"),
        T("Hello, is it possible to split a payment between a gift card and PayPal?"),
        T("I need a copy of the receipt for my expense report. Order {order_id}, paid with Amex."),
        T("I got charged $89.99 but never got an order confirmation email. Please reverse the charge if the order "
          "doesn't exist."),
    ],
    "shipping": [
        T("Do you ship to Canada? And how much does it cost?"),
        T("I need to change the delivery address on order {order_id}, I moved last week."),
        T("Tracking says delivered yesterday at 2pm but there's nothing at my door or with my neighbors."),
        T("How much is express shipping, and can you send it to a PO box?"),
        T("Is shipping free if my cart is $48? Trying to figure out if I should add something."),
        T("The carrier left my package out in the rain and everything inside is soaked."),
        T("my package was delivered to the wrong address, 14 Elm St instead of 41 Elm St", "typo"),
        T("What carriers do you use? UPS never manages to deliver to my building properly."),
        T("if i order today before noon, will it ship today?", "typo"),
        T("Can you hold my package at a UPS Access Point instead of leaving it at my house?"),
        T("It's been 12 days and the tracking hasn't moved at all. I think the package is lost."),
    ],
    "account_access": [
        T("I can't log in, it says my password is incorrect but I know it's right."),
        T("The password reset email never arrives. I've tried 3 times. My email is {email}"),
        T("My account got locked after too many attempts, how long until I can try again?"),
        T("I got a new phone and now I can't get the two-factor code. Help!"),
        T("Someone changed the email on my account and it wasn't me. I think I've been hacked."),
        T("How do I change the email address I use to sign in?"),
        T("I signed up with Apple's 'Hide My Email' and now I don't know which address my account is under."),
        T("reset link says expired. i clicked it like right away", "typo"),
        T("Can I merge my two accounts? One uses my work email and the other my personal one."),
        T("I'm not receiving the SMS verification code when I try to sign in."),
    ],
    "technical_issue": [
        T("Your checkout page keeps spinning after I click Place order. Tried Chrome and Safari."),
        T("The app crashes every time I open the Orders tab. iPhone 13, iOS 17.4."),
        T("Getting 'Error 502 Bad Gateway' on all the product pages since this morning."),
        T("The Apply button for promo codes doesn't do anything on the mobile site."),
        T("Images aren't loading on your site, it's just gray boxes everywhere."),
        T("the size dropdown is greyed out on every shoe page so i cant add anything to my cart", "typo"),
        T("The app keeps logging me out every few minutes while I'm browsing, super annoying."),
        T("Search returns zero results for anything I type, even 'lamp'."),
        T("Android app version 5.2 won't install, it says 'App not compatible with your device'. Pixel 4a, "
          "Android 13."),
        T("Your site says my zip code is invalid at checkout. It's 02139, Cambridge MA, it's definitely real."),
    ],
    "product_info": [
        T("Is the TrailLite 40L backpack carry-on size for most airlines?"),
        T("Do the Aeris 2 earbuds work with Android or only with iPhone?"),
        T("What's the difference between the Nimbus and the Nimbus Pro air purifier?"),
        T("When will the Harbor linen duvet cover in sage be back in stock in queen?"),
        T("Does the Alder standing desk come assembled or do I put it together?"),
        T("is the cast iron skillet pre-seasoned? and can it go on induction", "typo"),
        T("What's the warranty on the Kestrel Aero robot vacuum?"),
        T("How do I pick a size in the Ridgeline hiking boots? I'm usually between a 9 and a 9.5."),
        T("Are your merino base layers machine washable?"),
        T("Does the Lumen smart bulb need a hub or does it connect to wifi directly?"),
    ],
    "cancellation": [
        T("Please cancel order {order_id}, I ordered the wrong color."),
        T("I just placed an order 10 minutes ago and want to cancel it. How do I do that?"),
        T("Can I cancel just one item from my order and keep the rest?"),
        T("I want to cancel my Kestrel Plus membership. Do I get any money back?"),
        T("cancel my order pls, found it cheaper somewhere else. {order_id_lc}", "typo"),
        T("How do I stop the auto-renewal for Kestrel Plus? It renews next week."),
        T("Ordered a sofa by mistake (my kid was playing with my phone). Cancel before it ships please!!"),
        T("Is it too late to cancel order {order_id}? The status says shipped."),
        T("I'd like to cancel my preorder for the Nimbus Pro, the release date got pushed back again."),
        T("Hi - I placed the same order twice by accident. Please cancel {order_id} and keep {order_id2}."),
    ],
}

# ------------------------------------------------------------------------------------------------ extraction
# Reference: the marked fields. 7 cases for the first four intents, 8 for the others (60 in all).
EXTRACTION: dict[str, list] = {
    "order_status": [
        T("Hi, I ordered the [product:Nimbus Pro air purifier] on [date:October 28, 2026=2026-10-28] and haven't "
          "received a tracking number. Order {order_id_hash}. You can email me at {email}."),
        T("where's my order {order_id}?? paid [amount:$86.50=86.50] almost two weeks ago", "typo"),
        T("Can you check on my order? The confirmation went to {email}. I think I placed it on "
          "[date:11/02/2026=2026-11-02]."),
        T("Status update please on {order_id_lc} - it's the [product:Alder standing desk], you promised it by "
          "[date:Nov 9, 2026=2026-11-09]."),
        T("hello my order number is {order_id} and i want to know when it arrives", "typo"),
        T("Following up on the [product:Ridgeline hiking boots] I ordered. Account email {email}, order "
          "{order_id}."),
        T("Ordered on [date:2026-11-12], total was [amount:$1,249.00=1249.00], and it still says 'processing'. "
          "What's going on?"),
    ],
    "refund": [
        T("I returned the [product:Copperline blender] on [date:October 30, 2026=2026-10-30] and still don't have "
          "my [amount:$129.99=129.99] back. Order {order_id_hash}."),
        T("Please refund order {order_id} - the [product:Harbor linen duvet cover] arrived torn. Email: {email}"),
        T("hi i was only refunded [amount:$18.00=18.00] for my return, it should be more. contact me at {email}",
          "typo"),
        T("My return for {order_id} was dropped off at UPS on [date:11/05/2026=2026-11-05]. When do I see the "
          "money?"),
        T("I want to return the [product:Aeris 2 earbuds], they hurt my ears. Order number is {order_id_lc}."),
        T("Refund of [amount:$54.20=54.20] still pending since [date:Nov 1, 2026=2026-11-01]. Why is it taking "
          "so long??"),
        T("Hello, my email is {email}. I need a refund for a damaged item, order {order_id}, value "
          "[amount:$312.75=312.75]."),
    ],
    "billing": [
        T("I was charged [amount:$212.40=212.40] twice on [date:November 10, 2026=2026-11-10] for order "
          "{order_id}."),
        T("Please send an invoice for order {order_id_hash} to our accounts team at {email}."),
        T("There's a charge of [amount:$64.99=64.99] from Kestrel that I don't recognize. My account email is "
          "{email}."),
        T("The [product:Alder standing desk] went on sale a few days after I bought it on "
          "[date:11/03/2026=2026-11-03]. Can I get the difference back?"),
        T("Used my gift card on order {order_id_lc} and it took the whole [amount:$100=100.00] even though the "
          "order was less than that"),
        T("Promo code didnt apply on my [date:Nov 14 2026=2026-11-14] order and I paid full price. email {email}",
          "typo"),
        T("Can you update the card on file? Use the Visa ending 4417 instead of the old one. Account: {email}",
          "distractor"),
    ],
    "shipping": [
        T("Please change the shipping address for order {order_id} to 88 Birch Lane, Apt 3, Portland OR 97205.",
          "distractor"),
        T("My package for order {order_id_hash} was marked delivered on [date:November 8, 2026=2026-11-08] but it "
          "never showed up."),
        T("How much would shipping be for the [product:Alder standing desk] to Toronto?"),
        T("The [product:Kestrel Aero robot vacuum] box arrived crushed, order {order_id}. Pics attached. {email}"),
        T("I paid [amount:$14.99=14.99] for express and it took 5 days. Order {order_id_lc}."),
        T("hi can i get my order shipped to my office instead? its {order_id}, email is {email}", "typo"),
        T("Tracking hasn't updated since [date:10/31/2026=2026-10-31], the package is the "
          "[product:TrailLite 40L backpack]."),
    ],
    "account_access": [
        T("I can't log in. My account email is {email} and the reset link isn't coming through."),
        T("Locked out of my account since [date:Nov 12, 2026=2026-11-12]. I need to check on order {order_id}."),
        T("I no longer have access to my old email, can you move my account over to {email}?"),
        T("Someone placed order {order_id} on my account for [amount:$489.00=489.00] and it wasn't me! I changed "
          "my password but I'm scared."),
        T("2FA codes keep going to my old phone number. Account {email}."),
        T("hi, i made an account on [date:2026-11-15] but never got the verification email. i used {email}",
          "typo"),
        T("Can't sign in to see my order for the [product:Nimbus air purifier]. Tried resetting twice already."),
        T("I forgot which email I used to sign up. I do have an order number though: {order_id_hash}."),
    ],
    "technical_issue": [
        T("Checkout fails with 'payment could not be processed' when I try to pay [amount:$342.18=342.18]. The "
          "card works everywhere else."),
        T("The product page for the [product:Lumen smart bulb 4-pack] crashes the app on my Pixel 7.",
          "distractor"),
        T("Since [date:November 13, 2026=2026-11-13] the order history page is blank for me. Account {email}."),
        T("I get an error when I try to download the invoice for order {order_id}."),
        T("Your website won't let me add the [product:Ridgeline hiking boots] to my cart, the button does "
          "nothing."),
        T("The app shows order {order_id_lc} twice in my history. Glitch?"),
        T("Error code 0x8004 at checkout, cart total was [amount:$76.40=76.40]. Email {email}.", "distractor"),
        T("The page keeps reloading when I try to write a review for the [product:Copperline blender]."),
    ],
    "product_info": [
        T("Is the [product:Harbor linen duvet cover] available in king size?"),
        T("Does the [product:Nimbus Pro air purifier] filter handle wildfire smoke? Asking before I spend "
          "[amount:$349=349.00] on it."),
        T("What's the weight limit on the [product:Alder standing desk]?"),
        T("I bought the [product:Kestrel Aero robot vacuum] on [date:9/14/2026=2026-09-14]. Is it still under "
          "warranty?"),
        T("Will the [product:Aeris 2 earbuds] be restocked? Please email me at {email} when they are."),
        T("Hi! Does the [product:TrailLite 40L backpack] have a laptop sleeve? What size laptop fits?",
          "distractor"),
        T("Is there a discount if I buy two of the [product:Lumen smart bulb 4-pack]?"),
        T("Got the [product:cast iron skillet] with order {order_id}. Can I use it in the oven at 500F?",
          "distractor"),
    ],
    "cancellation": [
        T("Please cancel order {order_id} - I ordered the [product:Ridgeline hiking boots] in the wrong size."),
        T("Please stop my membership, I was charged [amount:$49.00=49.00] on "
          "[date:November 2, 2026=2026-11-02] and didn't want it to renew."),
        T("cancel {order_id_lc} please!!! wrong address", "typo"),
        T("Can I cancel the [product:Nimbus Pro air purifier] preorder? My email is {email}."),
        T("Hi, I placed order {order_id_hash} at 9am today by mistake. Need it cancelled before it ships. {email}"),
        T("Cancel my order from [date:11/16/2026=2026-11-16] please, it was [amount:$64.00=64.00] and I don't "
          "need it anymore."),
        T("I'd like to cancel just the [product:Copperline blender] from order {order_id} and keep the rest."),
        T("how do i cancel? the order confirmation was sent to {email}", "typo"),
    ],
}

# ------------------------------------------------------------------------------------------------ structured
# Reference: intent, priority, needs_human (as the structured system prompt defines them) and a summary that
# satisfies the schema but is not compared. 6 cases per intent.
STRUCTURED: dict[str, list] = {
    "order_status": [
        S("low", False, "Customer asks whether their order has shipped.",
          "Hi! Just wondering if order {order_id} has shipped yet, no rush."),
        S("medium", False, "Customer's order is late and they want an arrival date.",
          "Order {order_id} was due Tuesday and tracking just says 'in transit'. When will it actually get here?"),
        S("low", False, "Customer asks how to track an order without a tracking email.",
          "How do I track my order? I never got an email with a tracking link."),
        S("medium", True, "Customer with a late order asks to speak to a person.",
          "Order {order_id} was due 3 days ago. I need to talk to a real person, the chat bot keeps sending me "
          "the same tracking link."),
        S("high", True, "Customer threatens a dispute over a large order that has not shipped in 9 days.",
          "My order {order_id} is $1,480 of furniture and has been stuck in 'processing' for 9 days. Either it "
          "ships today or I'm disputing the charge with my bank."),
        S("low", False, "Customer asks what the 'label created' tracking status means.",
          "Does 'label created' mean my package already left? Order {order_id_lc}."),
    ],
    "refund": [
        S("medium", True, "Customer's refund is overdue three weeks after the return arrived.",
          "I returned order {order_id} 3 weeks ago (UPS confirmed delivery to you on the 2nd) and still no "
          "refund. Please process it."),
        S("low", False, "Customer asks how long refunds take after a return is received.",
          "How long do refunds usually take once you get the return back?"),
        S("medium", True, "Customer wants a refund for a blender that arrived with a cracked jar.",
          "The blender arrived with a cracked jar. I'd like a refund please, order {order_id}."),
        S("low", False, "Customer asks whether change-of-mind returns cost return shipping.",
          "Do I have to pay for return shipping if I just changed my mind?"),
        S("high", True, "Customer threatens a chargeback over a $640 refund overdue for a month.",
          "This is my third email. You received my return a MONTH ago and I still don't have my $640. If it "
          "isn't refunded by Friday I'm filing a chargeback with my bank."),
        S("medium", True, "Customer was refunded $18 instead of $32 and wants the remaining $14.",
          "You refunded $18 but I paid $32 for the pillowcases. Please send the remaining $14."),
    ],
    "billing": [
        S("high", True, "Customer was charged twice for one order and wants the duplicate refunded.",
          "Double charge on order {order_id}: $212.40 went out twice. Please refund the duplicate."),
        S("high", True, "Customer reports three unrecognised charges and fears card fraud.",
          "There are three charges from Kestrel on my card this morning and I didn't buy anything. Is someone "
          "using my card?"),
        S("low", False, "Customer asks which payment methods are accepted, including Apple Pay.",
          "Which payment methods do you accept? Do you take Apple Pay?"),
        S("medium", True, "Customer requests a price adjustment on a desk that dropped $40.",
          "The desk I bought 6 days ago is now $40 cheaper. Can you refund me the difference?"),
        S("low", False, "Customer asks where to download an invoice.",
          "Is there somewhere on the site to grab an invoice for my last order?"),
        S("medium", True, "Customer's promo code failed and they were overcharged $15.",
          "My promo code didn't apply at checkout on order {order_id}, so I was charged $15 more than I should "
          "have been."),
    ],
    "shipping": [
        S("low", False, "Customer asks whether Canada is served and how long delivery takes.",
          "Do you ship to Canada, and how long does it take to get there?"),
        S("high", True, "Customer's $820 sofa is marked delivered but never arrived.",
          "Tracking says my $820 sofa was delivered but it's not here, and my building's cameras show no delivery. "
          "Order {order_id}."),
        S("medium", True, "Customer's package was delivered to the wrong house number.",
          "My package was left at 41 Elm St instead of 14 Elm St and the neighbor isn't answering. Order "
          "{order_id}."),
        S("low", False, "Customer asks whether a $62 order ships free.",
          "Is standard shipping free on a $62 order?"),
        S("medium", True, "Customer's package arrived soaked with a broken lamp inside.",
          "The box arrived soaked through and the lamp inside is broken. Order {order_id}."),
        S("medium", False, "Customer wants to change the delivery address of an unshipped order.",
          "Can I change the delivery address on order {order_id}? It hasn't shipped yet."),
    ],
    "account_access": [
        S("high", True, "Customer's account was taken over and used for an order they did not place.",
          "Someone changed my account email and password and placed an order I didn't make. Please lock my "
          "account!"),
        S("low", False, "Customer asks how to reset their password.",
          "How do I reset my password?"),
        S("high", True, "Customer is locked out with no access to their 2FA phone or old email.",
          "I'm locked out. I lost my phone so I can't get the 2FA code, and the reset emails go to an address I "
          "don't have anymore."),
        S("low", False, "Customer asks how to change their sign-in email address.",
          "Can I change the email address I sign in with? I'm switching to a new provider."),
        S("medium", False, "Customer's password reset link shows as expired.",
          "The password reset link says it expired even though I clicked it right away."),
        S("low", False, "Customer asks how to turn on two-factor authentication.",
          "How do I turn on two-factor authentication?"),
    ],
    "technical_issue": [
        S("medium", False, "Customer's checkout keeps spinning after placing the order.",
          "Checkout keeps spinning after I click Place order. I've tried twice now."),
        S("low", False, "Customer reports the app crashes on the Orders tab.",
          "The app crashes when I open the Orders tab on my iPhone. Not urgent, just letting you know."),
        S("medium", True, "Customer cannot complete checkout and asks for a call.",
          "For two days I can't complete checkout, it says 'payment could not be processed'. Please have "
          "someone call me, I need to order before the sale ends."),
        S("low", False, "Customer reports product images not loading in Firefox.",
          "Product images aren't loading on Firefox, it's just grey boxes."),
        S("medium", False, "Customer's valid zip code is rejected at checkout.",
          "The zip code field at checkout rejects my zip, 02139, so I can't place the order."),
        S("low", False, "Customer reports slow search results.",
          "the search results page is realy slow to load today", "typo"),
    ],
    "product_info": [
        S("low", False, "Customer asks whether the TrailLite 40L backpack fits an overhead bin.",
          "Will the TrailLite 40L fit in an overhead bin? Flying Delta next month."),
        S("low", False, "Customer asks whether Lumen smart bulbs work with Google Home.",
          "Will the Lumen smart bulbs work with Google Home?"),
        S("low", False, "Customer asks how long the robot vacuum's warranty lasts.",
          "If I buy the Aero robot vacuum now, how long is it covered under warranty?"),
        S("medium", True, "Customer wants a warranty replacement for earbuds that stopped charging.",
          "My Aeris 2 earbuds stopped charging after 3 months. Is that covered by the warranty? I'd like a "
          "replacement."),
        S("low", True, "Customer asks for a call about choosing an air purifier.",
          "Could someone call me to talk through which air purifier fits a 400 sq ft room? My number is "
          "555-0142."),
        S("low", False, "Customer asks whether the Ridgeline boots run true to size.",
          "are the ridgeline boots true to size? i usualy wear a 10", "typo"),
    ],
    "cancellation": [
        S("medium", False, "Customer wants to cancel an order placed 20 minutes ago.",
          "How do I cancel an order I placed 20 minutes ago?"),
        S("medium", True, "Customer asks to cancel an unshipped order placed yesterday.",
          "Please cancel order {order_id}. I placed it yesterday and it hasn't shipped."),
        S("medium", True, "Customer wants to cancel an order that has already shipped.",
          "Order {order_id} already shipped but I don't want it anymore, can you cancel it?"),
        S("low", False, "Customer asks how to turn off Kestrel Plus auto-renewal.",
          "How do I turn off auto-renew for Kestrel Plus?"),
        S("medium", True, "Customer cancels Kestrel Plus five days in and wants the $49 back.",
          "Cancel my Kestrel Plus membership and refund this year's $49 please, I signed up 5 days ago by "
          "accident."),
        S("high", True, "Customer's cancelled order shipped and was charged; threatens a bank dispute.",
          "I cancelled order {order_id} last week and you shipped it and charged me anyway. Fix this or I'll "
          "dispute it with my bank."),
    ],
}

# -------------------------------------------------------------------------------------------------------- qa
# Reference: the short answer from the qa system prompt's policy. Default scorer token_f1; overrides where the
# answer is a number (numeric_tolerance), a yes/no or a fixed pattern (regex), or has several phrasings
# (contains). 6 questions per intent.
QA: dict[str, list] = {
    "order_status": [
        Q("What time do I need to order by for it to ship the same day?", "2 pm Eastern"),
        NUM("how long can tracking take to update after i get the shipping email", "24 hours"),
        HAS("After how many days without a tracking update is a package considered lost?", "7 days", "seven days"),
        HAS("I checked out as a guest. Where can I track my order?", "kestrel.co/track"),
        Q("If I place an order at 5pm on a Tuesday, when does it ship?", "the next business day"),
        Q("What do you do if my package gets lost?", "reship or refund it"),
    ],
    "shipping": [
        NUM("What's the minimum order for free shipping?", "$50"),
        NUM("How much does express shipping cost?", "$14.99", 0.005),
        RX("can you ship express to a PO box", "No", NO),
        HAS("How long does delivery to Canada take?", "7-10 business days",
            "7 to 10 business days", "7\u201310 business days"),
        NUM("How much is standard shipping on an order under $50?", "$5.99", 0.005),
        Q("Which countries do you ship to?", "the US and Canada"),
    ],
    "refund": [
        HAS("How many days do I have to return something?", "30 days", "thirty days"),
        HAS("How long does a refund take after you get my return?", "5-7 business days",
            "5 to 7 business days", "5\u20137 business days"),
        NUM("What does the return label cost if I just changed my mind?", "$6.95", 0.005),
        RX("Can I return a final sale item?", "No", NO),
        Q("I paid with a gift card. How will I be refunded?", "as store credit"),
        RX("Is return shipping free if the item arrived defective?", "Yes", YES),
    ],
    "billing": [
        RX("Do you take Apple Pay?", "Yes", YES),
        RX("How many promo codes can I use on one order?", "One",
       r"^[\s\"'*]*(?:only\s+)?(?:one|1|a single)\b(?![.,]\d|\s*(?:year|hour|minute|day|-))"),
        NUM("If the price drops after I buy, within how many days can I get the difference back?", "14 days"),
        Q("When is my card actually charged?", "when the order ships"),
        NUM("how long until a pending authorization drops off my card", "3 business days"),
        Q("Where can I download an invoice?", "My orders"),
    ],
    "account_access": [
        HAS("How long is a password reset link valid?", "2 hours", "two hours", "120 minutes"),
        RX("How many failed sign-in attempts before my account gets locked?", "5 failed attempts",
       r"^[\s\"'*]*(?:after\s+)?(?:5|five)\b(?![.,]\d|\s*(?:-|\u2013|to)\s*\d)"),
        HAS("How long is an account locked after too many failed sign-ins?", "30 minutes", "half an hour"),
        Q("What can I use for two-factor authentication?", "an authenticator app or SMS"),
        RX("Can I get 2FA codes by text message?", "Yes", YES),
        HAS("My reset link expired. What now?", "request a new one", "request a new", "new reset link", "new link"),
    ],
    "technical_issue": [
        NUM("What's the minimum iOS version for the app?", "iOS 16"),
        Q("Which Android version do I need for the app?", "Android 10 or later"),
        Q("Which browsers does your website support?", "Chrome, Firefox, Safari and Edge"),
        RX("Do you support Internet Explorer?", "No", NO),
        Q("How many versions back of each browser do you support?", "the latest two versions"),
        RX("What hours can I reach support if the site is down?", "8 am to 8 pm Eastern, Monday to Saturday",
           r"8\s*(?:am|a\.m\.)?\s*(?:-|\u2013|to)\s*8\s*(?:pm|p\.m\.)"),
    ],
    "product_info": [
        HAS("How long is the warranty on Kestrel-brand products?", "2 years", "two years", "2-year", "two-year"),
        HAS("What warranty do the other brands you sell come with?", "1 year", "one year", "1-year", "12 months"),
        HAS("How can I get an email when something is back in stock?", "Notify me"),
        Q("Where can I see the restock date for an item?", "on the product page"),
        RX("Is the 2-year warranty for every brand?", "No", NO),
        HAS("Where can I find the manual for my vacuum?", "Specs & manuals", "specs and manuals"),
    ],
    "cancellation": [
        HAS("How long do I have to cancel an order myself?", "1 hour", "one hour", "60 minutes"),
        NUM("How much is Kestrel Plus?", "$49 per year"),
        RX("Can I cancel an order that already shipped?", "No", NO),
        NUM("Until how many days after joining does cancelling Kestrel Plus get a full refund?", "14 days"),
        Q("What should I do with a shipped order I no longer want?", "return it"),
        Q("What does Kestrel Plus include?", "free express shipping"),
    ],
}

# ----------------------------------------------------------------------------------------- identifiers
FIRST = ["dana", "marcus", "priya", "tom", "lena", "jorge", "aisha", "ben", "chloe", "wei", "fatima", "owen",
         "sofia", "raj", "hannah", "diego", "mei", "noah", "zara", "eli", "grace", "kenji", "nadia", "sam"]
LAST = ["kowalski", "reed", "sharma", "oconnor", "fischer", "alvarez", "bello", "hart", "dubois", "zhang",
        "haddad", "price", "romano", "patel", "lindqvist", "moreno", "tanaka", "brooks", "okafor", "nguyen"]
DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "fastmail.com", "hey.com",
           "comcast.net", "northwind-design.com", "brightlane.co"]
SLOT = re.compile(r"\{(order_id|order_id_hash|order_id_lc|order_id2|email|name)\}")
MARK = re.compile(r"\[(amount|date|product):([^\]=]+)(?:=([^\]]+))?\]")
DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%b %d %Y", "%m/%d/%Y", "%Y-%m-%d")


class Ids:
    """Made-up order ids and emails: deterministic, never repeated within the suite."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used: set[str] = set()

    def _fresh(self, make) -> str:
        while True:
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value

    def order_id(self) -> str:
        return self._fresh(lambda: f"KC{self.rng.randrange(1_000_000, 10_000_000)}")

    def email(self) -> str:
        def make() -> str:
            first, last, domain = self.rng.choice(FIRST), self.rng.choice(LAST), self.rng.choice(DOMAINS)
            local = self.rng.choice([f"{first}.{last}", f"{first}{last}{self.rng.randrange(1, 99)}",
                                     f"{first[0]}{last}", f"{first}_{last[0]}", f"{last}.{first}"])
            return f"{local}@{domain}"
        return self._fresh(make)

    def name(self) -> str:
        return self.rng.choice(FIRST).capitalize()


def _check_mark(field: str, shown: str, canonical: str, text: str) -> None:
    if field == "amount":
        number = float(re.sub(r"[$,]", "", shown))
        if f"{number:.2f}" != canonical:
            raise ValueError(f"amount {shown!r} should be written {number:.2f}, not {canonical!r}: {text}")
    elif field == "date":
        parsed = {dt.datetime.strptime(shown, f).date().isoformat() for f in DATE_FORMATS if _parses(shown, f)}
        if parsed != {canonical}:
            raise ValueError(f"date {shown!r} does not read as {canonical!r}: {text}")


def _parses(text: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def render(template: str, ids: Ids) -> tuple[str, dict[str, str]]:
    """The ticket text and the fields it contains (for extraction references)."""
    fields: dict[str, str] = {}

    def put(field: str, value: str) -> None:
        if field in fields:
            raise ValueError(f"field {field!r} appears twice in: {template}")
        fields[field] = value

    def slot(match: re.Match[str]) -> str:
        kind = match.group(1)
        if kind == "email":
            value = ids.email()
            put("email", value)
            return value
        if kind == "name":
            return ids.name()
        value = ids.order_id()
        if kind == "order_id2":
            fields.setdefault("_second_order", value)
            return value
        put("order_id", value)
        return {"order_id": value, "order_id_hash": "#" + value, "order_id_lc": value.lower()}[kind]

    def mark(match: re.Match[str]) -> str:
        field, shown = match.group(1), match.group(2)
        canonical = match.group(3) or shown
        _check_mark(field, shown, canonical, template)
        put(field, canonical)
        return shown

    text = MARK.sub(mark, SLOT.sub(slot, template))
    if "{" in text or "[" in text:
        raise ValueError(f"unreplaced slot or mark in: {template}")
    return text, fields


def build_cases() -> list[dict]:
    """All cases, grouped by intent; within an intent the task types are interleaved evenly.

    Interleaving matters to consumers that take the first cases of each intent (a quick run with
    ``max_examples``) or every n-th case (shards): they get every task type, not only classification.
    """
    ids = Ids(SEED)
    by_intent: dict[str, list[tuple[float, int, dict]]] = {intent: [] for intent in INTENTS}

    def add(intent: str, task_type: str, items: list[dict]) -> None:
        for i, case in enumerate(items):
            rank = (i + 0.5) / len(items)
            by_intent[intent].append((rank, TASK_TYPES.index(task_type), {
                "intent": intent, "task_type": task_type, **case}))

    for intent in INTENTS:
        items = []
        for template, tags in CLASSIFICATION[intent]:
            text, _ = render(template, ids)
            items.append({"input": text, "reference": intent, "tags": tags})
        add(intent, "classification", items)
    for intent in INTENTS:
        items = []
        for template, tags in EXTRACTION[intent]:
            text, fields = render(template, ids)
            if "_second_order" in fields or not fields:
                raise ValueError(f"an extraction ticket needs one value per field, at least one: {template}")
            items.append({"input": text, "reference": dict(sorted(fields.items())), "tags": tags})
        add(intent, "extraction", items)
    for intent in INTENTS:
        items = []
        for item in STRUCTURED[intent]:
            text, _ = render(item["text"], ids)
            reference = {"intent": intent, "priority": item["priority"], "needs_human": item["needs_human"],
                         "summary": item["summary"]}
            items.append({"input": text, "reference": reference, "tags": item["tags"]})
        add(intent, "structured", items)
    for intent in INTENTS:
        items = []
        for item in QA[intent]:
            text, _ = render(item["text"], ids)
            case = {"input": text, "reference": item["answer"], "tags": item["tags"]}
            if item["scorer"]:
                case["scorer"] = item["scorer"]
                if item["params"]:
                    case["params"] = item["params"]
            items.append(case)
        add(intent, "qa", items)

    cases = []
    for intent in INTENTS:
        for _, _, case in sorted(by_intent[intent], key=lambda entry: entry[:2]):
            cases.append({"id": f"cs-{len(cases) + 1:04d}", **case})
    return cases


def _check(cases: list[dict]) -> None:
    suite = yaml.safe_load((SUITE_DIR / "suite.yaml").read_text(encoding="utf-8"))
    if suite["intents"] != INTENTS or list(suite["task_types"]) != TASK_TYPES:
        raise ValueError("INTENTS / TASK_TYPES here differ from suite.yaml")
    for intent in INTENTS:
        n = sum(c["intent"] == intent for c in cases)
        types = {c["task_type"] for c in cases if c["intent"] == intent}
        if n != 30 or types != set(TASK_TYPES):
            raise ValueError(f"intent {intent}: {n} cases over {sorted(types)}; want 30 over all task types")
    inputs = [" ".join(c["input"].split()) for c in cases]
    repeated = {i for i in inputs if inputs.count(i) > 1}
    if repeated:
        raise ValueError(f"repeated inputs: {sorted(repeated)}")


def to_jsonl(cases: list[dict]) -> str:
    return "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with cases.jsonl instead of writing it")
    args = parser.parse_args(argv)
    cases = build_cases()
    _check(cases)
    text = to_jsonl(cases)
    target = SUITE_DIR / "cases.jsonl"
    if args.check:
        same = target.is_file() and target.read_text(encoding="utf-8") == text
        print(f"{target}: {'up to date' if same else 'DIFFERS from the build'}")
        return 0 if same else 1
    target.write_text(text, encoding="utf-8")
    print(f"wrote {len(cases)} cases to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
