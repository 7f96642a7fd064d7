@main struct BrotherCommand { static func main() {} }
