"""Every maximum in one place: forms, the API models and the OpenAPI document use these,
and they never exceed the database's column sizes."""

TITLE = 200                 # a change's title
TEXT = 20_000               # long text: description, needs, plans, review notes, comments
SDP_PRIORITY = 500
DPIA_REFERENCE = 200        # a data-protection impact assessment's reference
STAKEHOLDER = 200           # one stakeholder's name
STAKEHOLDERS = 50           # how many stakeholders
SUCCESS_MEASURES = 10       # success measures of one change
MEASURE_TEXT = 1000         # a success measure's statement, or how it will be checked
SERVICE = 100               # one affected service (a catalogue entry's name)
SERVICE_DESCRIPTION = 500
SERVICES = 30               # how many affected services (joined they fit the 2,000-character column)
COST_LINES = 200            # lines in a financial plan or a review's actual costs
FUNDING_SOURCE = 200
COST_DESCRIPTION = 500
AMOUNT_MAX = 10**10         # an amount is below £10,000,000,000.00
CONTACT = 300
NOTICE_SUBJECT = 300
PERSON_NAME = 200
EMAIL = 320
TOKEN_NAME = 100
REASON = 2_000              # a reason given for an action
SEARCH = 200                # a search box's text
PERIOD_REASON = 500         # why a calendar period freezes changes
CALENDAR_IMPORT_ROWS = 2_000  # periods in one CSV or ICS import
SCHEDULE_DAY_ROWS = 5       # releases a day of the month view lists before "N more" (the week lists all)
SCHEDULE_DAYS = 62          # days in one view of the forward schedule (a month view spans up to 6 weeks)
# Release windows: anything outside these years is a typing mistake.
FIRST_YEAR, LAST_YEAR = 2000, 2100
PAGE_MAX = 500              # rows per page through the API
OFFSET_MAX = 10**9
COUNT_CAP = 1000            # a list's total is counted this far (or to its page), then "1,000+"
ID_MAX = 2**31 - 1
