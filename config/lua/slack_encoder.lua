require "os"
require "string"
require "table"

local cjson = require("cjson")

function process_message()
    local payload = read_message("Payload")

    local slack_alert = {}
    slack_alert["icon_emoji"] = ":heavy_exclamation_mark:"
    slack_alert["username"] = "something you like"
    slack_alert["text"] = payload
    slack_alert["channel"] = "#something"

    inject_payload("json", "Slack", cjson.encode(slack_alert))
    return 0
end
