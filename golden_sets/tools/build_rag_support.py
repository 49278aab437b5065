"""Build golden_sets/rag_support: the demo corpus (Kestrel & Co. help-centre articles) and graded retrieval queries.

Run from the repository root: ``python golden_sets/tools/build_rag_support.py``. The output is committed and reviewed
like code; this script only keeps the two files consistent (every judged document exists, ids are stable).
Grades: 2 = the document answers the query, 1 = related and partly useful, unlisted = not relevant.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "rag_support"

# doc id -> (title, text)
DOCS: dict[str, tuple[str, str]] = {
    "kb-order-01": ("When orders ship", "Orders placed before 2 pm Eastern on a business day ship the same day. Orders placed later ship the next business day. Weekend orders ship on Monday."),
    "kb-order-02": ("Tracking your package", "A tracking link is emailed when your order ships. Tracking can take up to 24 hours to show movement after the label is created."),
    "kb-order-03": ("Guest order tracking", "Guests without an account can track an order at kestrel.co/track with the order number and the email address used at checkout."),
    "kb-order-04": ("Lost packages", "A package with no tracking update for 7 days is treated as lost. We then reship the items or refund the order, whichever you prefer."),
    "kb-order-05": ("Order status meanings", "Processing means we are picking and packing your items. Shipped means the carrier has the package. Delivered means the carrier scanned it at your address."),
    "kb-order-06": ("Split shipments", "Large orders may ship in several boxes from different warehouses. Each box gets its own tracking number in the shipping email."),
    "kb-refund-01": ("Return window", "Items can be returned within 30 days of delivery, unused and in their original packaging. Final-sale items cannot be returned."),
    "kb-refund-02": ("Return shipping fees", "Return shipping is free for defective or wrong items. For other returns a $6.95 return label fee is deducted from the refund."),
    "kb-refund-03": ("Refund timing", "Refunds go to the original payment method within 5-7 business days after the return reaches our warehouse."),
    "kb-refund-04": ("Gift card refunds", "Orders paid with a Kestrel gift card are refunded as store credit, not cash."),
    "kb-refund-05": ("Starting a return online", "Start a return in My orders: choose the items, the reason, and print the prepaid label or show the QR code at a drop-off point."),
    "kb-refund-06": ("Damaged on arrival", "If an item arrives damaged, send a photo within 7 days and we replace it or refund it without asking for the item back."),
    "kb-bill-01": ("Accepted payment methods", "We accept Visa, Mastercard, American Express, Discover, PayPal, Apple Pay and Kestrel gift cards."),
    "kb-bill-02": ("Authorisation and charge", "Cards are authorised when you order and charged when the order ships. An authorisation that is not charged drops off within 3 business days."),
    "kb-bill-03": ("Price adjustments", "If an item's price drops within 14 days of purchase, we refund the difference once per item. Ask support with the order number."),
    "kb-bill-04": ("Promo codes", "One promo code can be used per order. Codes cannot be combined and do not apply to gift cards or Kestrel Plus."),
    "kb-bill-05": ("Invoices and receipts", "Invoices can be downloaded as PDF from My orders. Business customers can add a VAT or company name before downloading."),
    "kb-bill-06": ("Duplicate charges", "A duplicate charge is usually a pending authorisation that drops off. If two charges settle, contact support and we refund one."),
    "kb-ship-01": ("Standard shipping", "Standard shipping is free on orders over $50; below that it costs $5.99. Standard delivery takes 3-5 business days."),
    "kb-ship-02": ("Express shipping", "Express shipping costs $14.99 and takes 1-2 business days. Express is not available to PO boxes."),
    "kb-ship-03": ("Shipping to Canada", "We ship to all 50 US states and to Canada. Orders to Canada cost a flat $19.99 and take 7-10 business days."),
    "kb-ship-04": ("Changing the delivery address", "The delivery address can be changed in My orders until the order ships. After that, ask the carrier to redirect the package."),
    "kb-ship-05": ("Wrong address deliveries", "If the carrier delivered to the wrong address, we open a trace with the carrier and reship once it confirms the misdelivery."),
    "kb-ship-06": ("International shipping", "We do not ship outside the US and Canada. Freight forwarders are allowed but we cannot handle returns from them."),
    "kb-acct-01": ("Password reset links", "Password reset links are valid for 2 hours. If a link has expired, request a new one from the sign-in page."),
    "kb-acct-02": ("Account lockout", "After 5 failed sign-in attempts an account is locked for 30 minutes. Wait, then reset your password if needed."),
    "kb-acct-03": ("Two-factor authentication", "Two-factor authentication can use an authenticator app or SMS codes. Turn it on under Account security."),
    "kb-acct-04": ("Changing your email address", "Change the email address of your account under Account settings. We send a confirmation link to the new address."),
    "kb-acct-05": ("Hijacked accounts", "If someone else took over your account, contact support at once: we freeze the account, reverse changes and restore access."),
    "kb-acct-06": ("Deleting an account", "You can delete your account under Account settings. Order history is kept for 7 years for tax reasons."),
    "kb-tech-01": ("Supported browsers", "The website supports the latest two versions of Chrome, Firefox, Safari and Edge. Internet Explorer is not supported."),
    "kb-tech-02": ("App requirements", "The Kestrel app needs iOS 16 or later, or Android 10 or later. Update the app from your app store."),
    "kb-tech-03": ("Checkout errors", "If checkout fails with an error, clear the browser cache, disable ad blockers and try again. Payment is not taken when checkout fails."),
    "kb-tech-04": ("App crashes", "If the app crashes on start, update it to the latest version and restart the phone. Reinstalling keeps your account data."),
    "kb-tech-05": ("Support hours", "Customer support is open 8 am to 8 pm Eastern, Monday to Saturday, by chat and phone."),
    "kb-tech-06": ("Cart not saving", "Items in the cart are saved for 30 days when you are signed in. Guest carts are kept in the browser only."),
    "kb-prod-01": ("Warranty", "Kestrel-brand products have a 2-year limited warranty; other brands have a 1-year warranty. Claims need the order number."),
    "kb-prod-02": ("Restock dates", "Restock dates are shown on the product page. Use Notify me on the product page to get an email when an item is back."),
    "kb-prod-03": ("Product manuals", "Product manuals can be downloaded from the product page under Specs & manuals."),
    "kb-prod-04": ("Sizing guides", "Every clothing and footwear page has a size chart. Between sizes, choose the larger size for outdoor layers."),
    "kb-prod-05": ("Compatibility questions", "Compatibility of parts and accessories is listed under Fits these models on the product page."),
    "kb-prod-06": ("Warranty claims", "To make a warranty claim, open My orders, choose the item and Report a problem; attach photos of the defect."),
    "kb-cancel-01": ("Cancelling an order", "Orders can be cancelled in My orders within 1 hour of ordering. After that, contact support before the order ships."),
    "kb-cancel-02": ("Shipped orders", "Shipped orders cannot be cancelled: return them instead once they arrive, within the 30-day return window."),
    "kb-cancel-03": ("Kestrel Plus membership", "Kestrel Plus costs $49 per year and includes free express shipping on every order."),
    "kb-cancel-04": ("Cancelling Kestrel Plus", "Kestrel Plus can be cancelled anytime under Membership. Cancellations within 14 days of joining get a full refund."),
    "kb-cancel-05": ("Cancelling a preorder", "Preorders can be cancelled any time before they ship; the card is only charged when the preorder ships."),
    "kb-cancel-06": ("Auto-renewal", "Kestrel Plus renews every year. Turn off auto-renewal under Membership at least one day before the renewal date."),
}

# (intent, query, {doc id: grade})
QUERIES: list[tuple[str, str, dict[str, int]]] = [
    ("order_status", "When will my order ship if I order at 5 pm?", {"kb-order-01": 2}),
    ("order_status", "My tracking number shows no movement since yesterday", {"kb-order-02": 2, "kb-order-04": 1}),
    ("order_status", "How can I track an order without an account?", {"kb-order-03": 2, "kb-order-02": 1}),
    ("order_status", "No tracking update for a week, is my package lost?", {"kb-order-04": 2, "kb-order-02": 1}),
    ("order_status", "What does processing status mean on my order?", {"kb-order-05": 2}),
    ("order_status", "I got two tracking numbers for one order", {"kb-order-06": 2, "kb-order-02": 1}),
    ("order_status", "Do weekend orders ship on Saturday?", {"kb-order-01": 2}),
    ("order_status", "The carrier says delivered but what does shipped mean", {"kb-order-05": 2}),
    ("refund", "How many days do I have to return an item?", {"kb-refund-01": 2, "kb-cancel-02": 1}),
    ("refund", "Is return shipping free?", {"kb-refund-02": 2, "kb-refund-05": 1}),
    ("refund", "When will I get my refund after the return arrives?", {"kb-refund-03": 2}),
    ("refund", "I paid with a gift card, how is my refund paid?", {"kb-refund-04": 2, "kb-refund-03": 1}),
    ("refund", "How do I print a return label?", {"kb-refund-05": 2, "kb-refund-02": 1}),
    ("refund", "My lamp arrived damaged and broken", {"kb-refund-06": 2, "kb-prod-06": 1}),
    ("refund", "Can I return a final-sale item?", {"kb-refund-01": 2}),
    ("refund", "Why was a fee deducted from my refund?", {"kb-refund-02": 2, "kb-refund-03": 1}),
    ("billing", "Do you accept PayPal or Apple Pay?", {"kb-bill-01": 2}),
    ("billing", "Why is there a pending charge on my card before shipping?", {"kb-bill-02": 2, "kb-bill-06": 1}),
    ("billing", "The price dropped a week after I bought it", {"kb-bill-03": 2}),
    ("billing", "Can I use two promo codes on one order?", {"kb-bill-04": 2}),
    ("billing", "Where do I download an invoice PDF?", {"kb-bill-05": 2}),
    ("billing", "I was charged twice for the same order", {"kb-bill-06": 2, "kb-bill-02": 1}),
    ("billing", "Does a promo code work on a gift card?", {"kb-bill-04": 2, "kb-bill-01": 1}),
    ("billing", "Add company name and VAT to my receipt", {"kb-bill-05": 2}),
    ("shipping", "Is shipping free on a $40 order?", {"kb-ship-01": 2}),
    ("shipping", "How much is express shipping and how fast?", {"kb-ship-02": 2, "kb-cancel-03": 1}),
    ("shipping", "Do you ship to Canada and what does it cost?", {"kb-ship-03": 2, "kb-ship-06": 1}),
    ("shipping", "I need to change the delivery address on my order", {"kb-ship-04": 2}),
    ("shipping", "The carrier delivered my package to the wrong address", {"kb-ship-05": 2}),
    ("shipping", "Can you ship to the United Kingdom?", {"kb-ship-06": 2, "kb-ship-03": 1}),
    ("shipping", "Can express shipping go to a PO box?", {"kb-ship-02": 2}),
    ("shipping", "How many business days does standard delivery take?", {"kb-ship-01": 2}),
    ("account_access", "My password reset link expired", {"kb-acct-01": 2}),
    ("account_access", "My account is locked after too many sign-in attempts", {"kb-acct-02": 2, "kb-acct-01": 1}),
    ("account_access", "How do I set up two-factor authentication with an app?", {"kb-acct-03": 2}),
    ("account_access", "I want to change the email address on my account", {"kb-acct-04": 2}),
    ("account_access", "Someone hacked my account and changed things", {"kb-acct-05": 2, "kb-acct-03": 1}),
    ("account_access", "How do I delete my account?", {"kb-acct-06": 2}),
    ("account_access", "How long is a password reset link valid?", {"kb-acct-01": 2}),
    ("account_access", "Can I get two-factor codes by SMS?", {"kb-acct-03": 2}),
    ("technical_issue", "Does the website work in Internet Explorer?", {"kb-tech-01": 2}),
    ("technical_issue", "Which Android version does the app need?", {"kb-tech-02": 2, "kb-tech-04": 1}),
    ("technical_issue", "Checkout fails with an error when I pay", {"kb-tech-03": 2}),
    ("technical_issue", "The app crashes every time I open it", {"kb-tech-04": 2, "kb-tech-02": 1}),
    ("technical_issue", "What are your support hours?", {"kb-tech-05": 2}),
    ("technical_issue", "Items disappear from my cart", {"kb-tech-06": 2}),
    ("technical_issue", "Is my card charged when checkout fails?", {"kb-tech-03": 2, "kb-bill-02": 1}),
    ("technical_issue", "Is chat support open on Sunday?", {"kb-tech-05": 2}),
    ("product_info", "How long is the warranty on Kestrel products?", {"kb-prod-01": 2, "kb-prod-06": 1}),
    ("product_info", "When will this item be back in stock?", {"kb-prod-02": 2}),
    ("product_info", "Where can I download the product manual?", {"kb-prod-03": 2}),
    ("product_info", "I am between sizes for a jacket", {"kb-prod-04": 2}),
    ("product_info", "Will this battery fit my model?", {"kb-prod-05": 2}),
    ("product_info", "How do I make a warranty claim for a defect?", {"kb-prod-06": 2, "kb-prod-01": 1}),
    ("product_info", "Get an email when a product is restocked", {"kb-prod-02": 2}),
    ("product_info", "Do other brands have a warranty too?", {"kb-prod-01": 2}),
    ("cancellation", "How do I cancel an order I placed 20 minutes ago?", {"kb-cancel-01": 2}),
    ("cancellation", "Can I cancel an order that already shipped?", {"kb-cancel-02": 2, "kb-cancel-01": 1}),
    ("cancellation", "What does Kestrel Plus cost per year?", {"kb-cancel-03": 2}),
    ("cancellation", "I joined Kestrel Plus last week, can I cancel for a full refund?", {"kb-cancel-04": 2, "kb-cancel-06": 1}),
    ("cancellation", "How do I cancel my preorder?", {"kb-cancel-05": 2}),
    ("cancellation", "Turn off Kestrel Plus auto-renewal", {"kb-cancel-06": 2, "kb-cancel-04": 1}),
    ("cancellation", "It is two hours after ordering, can I still cancel?", {"kb-cancel-01": 2}),
    ("cancellation", "When is a preorder charged to my card?", {"kb-cancel-05": 2, "kb-bill-02": 1}),
]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for _, _, judged in QUERIES:
        missing = [d for d in judged if d not in DOCS]
        if missing:
            raise SystemExit(f"judged documents not in the corpus: {missing}")
    with open(OUT / "corpus.jsonl", "w", encoding="utf-8") as f:
        for doc_id, (title, text) in DOCS.items():
            f.write(json.dumps({"doc_id": doc_id, "title": title, "text": text}, ensure_ascii=False) + "\n")
    with open(OUT / "queries.jsonl", "w", encoding="utf-8") as f:
        for i, (intent, query, judged) in enumerate(QUERIES, start=1):
            row = {"id": f"rq-{i:04d}", "intent": intent, "query": query, "judgements": judged}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(DOCS)} documents, {len(QUERIES)} queries written to {OUT}")


if __name__ == "__main__":
    main()
