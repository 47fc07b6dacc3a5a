import SKMCore

extension Rejection {
    /// The answer to a request no route matched: URL NOT FOUND, for an API version SKM does not have or for a path
    /// and method no operation answers.
    package static func unrouted(method: String, path: String) -> Rejection {
        let segments = APIRoute.segments(of: path)
        if segments.count >= 2, segments[0] == "keymanager", APIVersion(rawValue: segments[1]) == nil {
            return Rejection(.apiVersionKnown, "'\(segments[1].prefix(32))' is not an SKM API version")
        }
        return Rejection(.routeExists, "no route for \(method.prefix(16)) \(path.prefix(200))")
    }
}
