// The protocol layer's types (messages, attributes, the exchange state machine) are part of
// this module's API: a client that imports NetlinkSocket sees them. `Errno` and `NetworkNamespace` are
// LinuxSystem's: a client that names them imports LinuxSystem.
//
// Note: this module declares a type named `NetlinkProtocol` (the socket's netlink family), which
// shadows the module name `NetlinkProtocol` here and in clients; refer to that module's types
// unqualified.
@_exported import NetlinkProtocol
